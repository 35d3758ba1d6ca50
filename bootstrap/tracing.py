"""Tracing set-up: the ``Tracing`` port for the settings, as a container Resource.

``PARLEY_TRACING_EXPORTER=none`` (the default) gives :class:`ports.tracing.NoTracing` and
imports nothing of OpenTelemetry. Otherwise: a tracer provider with the chosen exporter behind
a batch processor, outbound HTTP/Redis/Azure SDK instrumentation (``traceparent`` on every
request made inside a model request span), trace and span ids on log records, and at shutdown
a bounded flush (``PARLEY_TRACING_SHUTDOWN_TIMEOUT_MS``) run off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from bootstrap.settings import Settings, SettingsError
from bootstrap.tracing_settings import otlp_headers
from ports.tracing import NoTracing, Tracing

logger = logging.getLogger(__name__)


def gen_ai_system(settings: Settings) -> tuple[str, str]:
    """``gen_ai.system`` and the default ``gen_ai.request.model`` of the selected model."""
    llm = settings.providers.llm
    if llm == "azure_openai":
        return "az.ai.openai", getattr(settings.azure_openai, "deployment", "") or "unknown"
    if llm == "openai":
        return "openai", getattr(settings.openai, "model", "") or "unknown"
    return "parley.offline", llm


def build_exporter(settings: Settings) -> Any:
    """The span exporter the settings ask for (None for ``none``).

    Raises:
        SettingsError: ``azure_monitor`` without ``APPLICATIONINSIGHTS_CONNECTION_STRING``.
    """
    choice = settings.tracing.exporter
    if choice == "none":
        return None
    from adapters.otel.setup import azure_monitor_exporter, otlp_exporter

    if choice == "otlp":
        otel = settings.otel
        return otlp_exporter(
            otel.exporter_otlp_endpoint,
            protocol=otel.exporter_otlp_protocol,
            headers=otlp_headers(otel.exporter_otlp_headers),
            timeout_s=otel.exporter_otlp_timeout / 1000.0,
        )
    secret = settings.appinsights.connection_string
    if secret is None or not secret.get_secret_value():
        raise SettingsError(
            [
                "APPLICATIONINSIGHTS_CONNECTION_STRING: required when "
                "PARLEY_TRACING_EXPORTER=azure_monitor"
            ]
        )
    return azure_monitor_exporter(secret.get_secret_value())


def tracer_provider(settings: Settings, exporter: Any = None) -> Any:
    """The process's OpenTelemetry ``TracerProvider``, or None with tracing off.

    Built by the app factory (its HTTP server spans need it before start), never at import;
    :func:`tracing_resource` shuts it down.

    Args:
        settings: The settings.
        exporter: A span exporter to use instead of the settings' (tests).
    """
    if exporter is None and settings.tracing.exporter == "none":
        return None
    from adapters.otel.setup import make_provider

    if exporter is None:
        exporter = build_exporter(settings)
    return make_provider(exporter, service_name=settings.otel.service_name)


async def tracing_resource(
    settings: Settings, exporter: Any = None, provider: Any = None
) -> AsyncIterator[Tracing]:
    """Container Resource: the process's ``Tracing`` from start to shutdown.

    Args:
        settings: The settings.
        exporter: A span exporter to use instead of the settings' (tests).
        provider: The process's tracer provider (default: one made here).
    """
    if provider is None:
        provider = tracer_provider(settings, exporter)
    if provider is None:
        yield NoTracing()
        return
    from adapters.otel import OtelTracing
    from adapters.otel.setup import TraceIdFilter, instrument_outbound

    system, model = gen_ai_system(settings)
    tracing = OtelTracing(
        provider,
        gen_ai_system=system,
        default_model=model,
        record_tool_arguments=settings.tracing.record_tool_arguments,
    )
    uninstrument = instrument_outbound(provider)
    log_filter = TraceIdFilter(tracing.span_context)
    handlers = [h for h in logging.getLogger().handlers if h.get_name() == "parley"]
    for handler in handlers:
        handler.addFilter(log_filter)
    try:
        yield tracing
    finally:
        for handler in handlers:
            handler.removeFilter(log_filter)
        uninstrument()
        timeout_s = settings.tracing.shutdown_timeout_ms / 1000.0
        try:
            # Shutdown joins the export thread: off the loop, and never longer than allowed.
            await asyncio.wait_for(asyncio.to_thread(provider.shutdown), timeout_s)
        except TimeoutError:
            logger.warning("trace export did not finish within %.1f s; spans dropped", timeout_s)
