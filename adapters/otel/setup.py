"""Tracer provider, exporters, outbound propagation and trace ids on log records.

Exporters (chosen by bootstrap from ``PARLEY_TRACING_EXPORTER``):

* ``otlp``: OTLP over HTTP/protobuf (``/v1/traces`` under the endpoint) or gRPC, per
  "OTLP Exporter Configuration",
  https://opentelemetry.io/docs/languages/sdk-configuration/otlp-exporter/ .
* ``azure_monitor``: Application Insights through ``azure-monitor-opentelemetry-exporter``
  (imported only then), per "Enable Azure Monitor OpenTelemetry for Python applications",
  https://learn.microsoft.com/azure/azure-monitor/app/opentelemetry-enable?tabs=python .

Spans leave through a ``BatchSpanProcessor``: ending a span only appends to a bounded queue
(full: the span is dropped and counted by the SDK), the export runs on the processor's own
thread with the exporter's timeout, so a failing or hanging collector never blocks a call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

logger = logging.getLogger(__name__)


def otlp_exporter(
    endpoint: str | None,
    *,
    protocol: str = "http/protobuf",
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
) -> SpanExporter:
    """An OTLP span exporter.

    Args:
        endpoint: Base endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``), e.g.
            ``http://127.0.0.1:4318`` (HTTP) or ``http://127.0.0.1:4317`` (gRPC); None: the
            SDK's default / ``OTEL_*`` environment.
        protocol: ``"http/protobuf"`` or ``"grpc"``.
        headers: Extra request headers (``OTEL_EXPORTER_OTLP_HEADERS``).
        timeout_s: Per-export deadline, seconds.

    Raises:
        ValueError: Unknown ``protocol``.
    """
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(
            endpoint=endpoint,
            headers=dict(headers) if headers else None,
            timeout=timeout_s,
            insecure=endpoint.startswith("http://") if endpoint else None,
        )
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )

        url = endpoint.rstrip("/") + "/v1/traces" if endpoint else None
        return HttpExporter(
            endpoint=url, headers=dict(headers) if headers else None, timeout=timeout_s
        )
    raise ValueError(f"unknown OTLP protocol {protocol!r} (grpc or http/protobuf)")


def azure_monitor_exporter(connection_string: str) -> SpanExporter:
    """The Application Insights span exporter (the ``azuremonitor`` extra).

    Raises:
        ImportError: The extra is not installed (the message says how to install it).
    """
    try:
        from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter
    except ImportError as exc:
        raise ImportError(
            "Azure Monitor tracing needs the azuremonitor extra: "
            "pip install 'parley[azuremonitor]'"
        ) from exc
    exporter: SpanExporter = AzureMonitorTraceExporter(connection_string=connection_string)
    return exporter


def make_provider(
    exporter: SpanExporter | None,
    *,
    service_name: str = "parley",
    batch: bool = True,
    max_queue_size: int = 4096,
) -> TracerProvider:
    """A tracer provider exporting to ``exporter`` (None: spans are made, never exported).

    Args:
        exporter: Where spans go.
        service_name: ``service.name`` resource attribute (``OTEL_SERVICE_NAME``).
        batch: Batch off-thread (production); False exports as each span ends (tests).
        max_queue_size: Spans the batch queue holds before it drops new ones.
    """
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if exporter is not None:
        if batch:
            provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=max_queue_size))
        else:
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor

            provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def instrument_outbound(provider: TracerProvider) -> Callable[[], None]:
    """Make outbound HTTP (httpx, httpx2), Redis and Azure SDK calls carry ``traceparent``.

    Uses each library's OpenTelemetry instrumentation where installed
    (``opentelemetry-instrumentation-httpx``, ``-redis``, ``azure-core-tracing-opentelemetry``);
    a missing one is skipped with a debug log. ``httpx2`` (the ``openai`` SDK's client) has
    none, so its requests get the current trace context injected here.

    Returns:
        A function that undoes the instrumentation.
    """
    undo: list[Callable[[], None]] = []
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        httpx_instrumentor = HTTPXClientInstrumentor()
        httpx_instrumentor.instrument(tracer_provider=provider)
        undo.append(httpx_instrumentor.uninstrument)
    except ImportError:
        logger.debug("httpx instrumentation not installed")
    try:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        redis_instrumentor = RedisInstrumentor()
        redis_instrumentor.instrument(tracer_provider=provider)
        undo.append(redis_instrumentor.uninstrument)
    except ImportError:
        logger.debug("redis instrumentation not installed")
    undo_httpx2 = _propagate_through_httpx2()
    if undo_httpx2 is not None:
        undo.append(undo_httpx2)
    try:
        from azure.core.settings import settings as azure_settings

        previous = azure_settings.tracing_implementation()
        azure_settings.tracing_implementation = "opentelemetry"

        def restore() -> None:
            azure_settings.tracing_implementation = previous

        undo.append(restore)
    except (ImportError, ValueError):
        logger.debug("azure-core OpenTelemetry tracing not installed")

    def uninstrument() -> None:
        for step in reversed(undo):
            try:
                step()
            except Exception:  # noqa: BLE001 (undoing is best effort)
                logger.debug("uninstrumenting failed", exc_info=True)

    return uninstrument


def _propagate_through_httpx2() -> Callable[[], None] | None:
    """Put the current trace context on every ``httpx2`` request; the undo, or None.

    The ``openai`` SDK (3.x) sends over ``httpx2``, which no OpenTelemetry instrumentation
    covers (``opentelemetry-instrumentation-httpx`` patches ``httpx`` only), so its requests
    would leave without ``traceparent``. ``AsyncClient.send`` is wrapped to inject the
    current context with the global propagator (W3C Trace Context, "Propagators API",
    https://opentelemetry.io/docs/specs/otel/context/api-propagators/); inside a model
    request that is the request's ``chat`` span. No span is made per request.
    """
    try:
        import httpx2
        from opentelemetry import propagate
    except ImportError:
        logger.debug("httpx2 not installed: nothing to propagate through")
        return None
    original = httpx2.AsyncClient.send
    if getattr(original, "_parley_propagates", False):
        return None  # already wrapped (another app in this process): its undo restores it

    async def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        propagate.inject(request.headers)
        return await original(self, request, *args, **kwargs)

    send._parley_propagates = True  # type: ignore[attr-defined]
    httpx2.AsyncClient.send = send  # type: ignore[method-assign]

    def restore() -> None:
        httpx2.AsyncClient.send = original  # type: ignore[method-assign]

    return restore


HTTP_EXCLUDED_URLS = "/ws/,/health,/ready,/metrics"
"""Paths the HTTP server spans skip: WebSockets (a call's media is traced as the call, never a
span per message), probes and metrics scrapes."""


def instrument_http_server(app: Any, provider: TracerProvider) -> None:
    """Give every HTTP request (Event Grid, callbacks, API) a SERVER span.

    A request carrying a W3C ``traceparent`` continues that trace (the ASGI instrumentation's
    own extraction). ``app`` must be a Starlette app that has not started.
    """
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        excluded_urls=HTTP_EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
    )


class TraceIdFilter(logging.Filter):
    """Puts ``trace_id`` and ``span_id`` (hex) on every log record.

    From the current span when there is one, else from the root span of the record's call
    (``record.call_id``, set by the call-id filter that runs before this one).

    Args:
        lookup: Call id -> root span context, e.g. :meth:`OtelTracing.span_context`.
    """

    def __init__(self, lookup: Callable[[str], Any]) -> None:
        super().__init__()
        self._lookup = lookup

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate ``record``; never drops it."""
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            call_id = getattr(record, "call_id", None)
            found = self._lookup(call_id) if isinstance(call_id, str) else None
            if found is not None:
                context = found
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True
