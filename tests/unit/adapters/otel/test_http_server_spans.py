"""HTTP requests get SERVER spans that continue an incoming traceparent; media sockets none."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from adapters.acs_emulator.server import free_port
from adapters.acs_emulator.serving import serve_app
from adapters.otel.setup import instrument_http_server, make_provider

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def ok(request) -> Response:
    return Response("ok")


async def test_an_event_grid_post_with_a_traceparent_continues_its_trace():
    exporter = InMemorySpanExporter()
    provider = make_provider(exporter, batch=False)
    app = Starlette(routes=[Route("/api/acs/events", ok, methods=["POST"]), Route("/health", ok)])
    instrument_http_server(app, provider)
    async with serve_app(app, port=free_port()) as base, httpx.AsyncClient() as http:
        await http.post(base + "/api/acs/events", json=[], headers={"traceparent": TRACEPARENT})
        await http.get(base + "/health")
    spans = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert len(spans) == 1  # the probe is not traced
    [span] = spans
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    provider.shutdown()
