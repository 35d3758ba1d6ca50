"""Outbound ``httpx2`` requests (the ``openai`` SDK's client) carry the current trace context.

No OpenTelemetry instrumentation covers ``httpx2``; :func:`instrument_outbound` injects the
context itself, and its undo stops that.
"""

from __future__ import annotations

import httpx2
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.otel.setup import instrument_outbound, make_provider


async def headers_sent(client: httpx2.AsyncClient) -> httpx2.Headers:
    seen: list[httpx2.Headers] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers)
        return httpx2.Response(200)

    client._transport = httpx2.MockTransport(handler)  # noqa: SLF001 (test transport)
    await client.get("http://model.example/v1/chat/completions")
    return seen[0]


async def test_a_request_inside_a_span_carries_its_traceparent_until_undone() -> None:
    provider = make_provider(InMemorySpanExporter(), batch=False)
    tracer = provider.get_tracer("test")
    undo = instrument_outbound(provider)
    try:
        async with httpx2.AsyncClient() as client:
            with tracer.start_as_current_span("chat model") as span:
                headers = await headers_sent(client)
            context = span.get_span_context()
            version, trace_id, parent_id, _flags = headers["traceparent"].split("-")
            assert (version, trace_id, parent_id) == (
                "00",
                f"{context.trace_id:032x}",
                f"{context.span_id:016x}",
            )
            outside = await headers_sent(client)
        assert "traceparent" not in outside  # no current span, nothing to continue
    finally:
        undo()
    async with httpx2.AsyncClient() as client:
        with tracer.start_as_current_span("after undo"):
            assert "traceparent" not in await headers_sent(client)
    provider.shutdown()
