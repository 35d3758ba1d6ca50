"""Settings groups of tracing: Parley's choice of exporter and the standard OTel/Azure keys.

Kept apart from :mod:`bootstrap.settings` (which lists them in ``GROUPS``) so tracing keys
change in one place. ``OTEL_*`` keys are the OpenTelemetry SDK's own names ("General SDK
Configuration", https://opentelemetry.io/docs/languages/sdk-configuration/general/ and
"OTLP Exporter Configuration",
https://opentelemetry.io/docs/languages/sdk-configuration/otlp-exporter/);
``APPLICATIONINSIGHTS_CONNECTION_STRING`` is Azure Monitor's ("Configure Azure Monitor
OpenTelemetry", https://learn.microsoft.com/azure/azure-monitor/app/opentelemetry-configuration ).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from bootstrap import settings_checks as checks
from bootstrap.settings_base import SettingsGroup as Group
from bootstrap.settings_base import group_config


class TracingSettings(Group):
    """Where traces go and what they may hold."""

    prefix: ClassVar[str] = "PARLEY_TRACING_"
    model_config = group_config(prefix)

    exporter: Literal["none", "otlp", "azure_monitor"] = "none"
    """none: no tracing at all; otlp: OTEL_EXPORTER_OTLP_*; azure_monitor: Application
    Insights via APPLICATIONINSIGHTS_CONNECTION_STRING (the azuremonitor extra)."""
    record_tool_arguments: bool = False
    """Record tool call arguments (personal data) on tool spans."""
    shutdown_timeout_ms: float = Field(default=5000.0, gt=0)
    """Longest wait for the last spans to export when the server stops."""


class OtelSettings(Group):
    """The OpenTelemetry SDK's standard keys that Parley reads from ``.env`` too."""

    prefix: ClassVar[str] = "OTEL_"
    model_config = group_config(prefix)

    service_name: str = "parley"
    exporter_otlp_endpoint: str | None = None
    exporter_otlp_protocol: Literal["grpc", "http/protobuf"] = "http/protobuf"
    exporter_otlp_headers: SecretStr | None = None
    exporter_otlp_timeout: float = Field(default=10_000.0, gt=0)
    """Per-export deadline, ms (the SDK's unit for this key)."""

    @field_validator("exporter_otlp_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        # The OTLP exporters take an http(s) URL for both protocols ("OTLP Exporter
        # Configuration", https://opentelemetry.io/docs/specs/otel/protocol/exporter/).
        return None if value is None else checks.url(value, schemes=("http", "https"))


class AppInsightsSettings(Group):
    """Azure Monitor (Application Insights)."""

    prefix: ClassVar[str] = "APPLICATIONINSIGHTS_"
    model_config = group_config(prefix)

    connection_string: SecretStr | None = None


def otlp_headers(raw: SecretStr | None) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_HEADERS`` (``k1=v1,k2=v2``, values URL-encoded) as a dict."""
    from urllib.parse import unquote

    if raw is None:
        return {}
    out: dict[str, str] = {}
    for pair in raw.get_secret_value().split(","):
        name, sep, value = pair.partition("=")
        if sep and name.strip():
            out[name.strip()] = unquote(value.strip())
    return out
