"""OpenTelemetry tracing: the ``Tracing`` port on the OpenTelemetry SDK, exporters, log ids.

Needs the ``otel`` extra (``pip install 'parley[otel]'``); Azure Monitor needs ``azuremonitor``.
"""

try:
    import opentelemetry.sdk.trace  # noqa: F401 (probe: a clear hint instead of a deep error)
except ImportError as exc:  # pragma: no cover (the extra is installed in dev)
    raise ImportError(
        "OpenTelemetry tracing needs the otel extra: pip install 'parley[otel]'"
    ) from exc

from adapters.otel.call_trace import CALL_ID_ATTRIBUTE, OtelCallTrace, OtelTracing

__all__ = ["CALL_ID_ATTRIBUTE", "OtelCallTrace", "OtelTracing"]
