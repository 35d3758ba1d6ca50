"""A whole emulated ACS call, traced into the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from adapters.otel import CALL_ID_ATTRIBUTE, OtelTracing
from adapters.otel.setup import make_provider
from bootstrap.call_command import open_stack, place_call, wav_turns

from .acs_support import offline_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIPS = ("brooklyn_bridge.wav",)  # one turn keeps the e2e run short


async def test_an_emulated_acs_call_is_one_trace_with_the_expected_span_tree(
    shared_audio_dir: Path,
) -> None:
    exporter = InMemorySpanExporter()
    provider = make_provider(exporter, batch=False)
    tracing = OtelTracing(provider, gen_ai_system="parley.offline", default_model="offline")

    def configure(container) -> None:
        container.adapters.tracer_provider.override(providers.Object(provider))
        container.adapters.tracing.override(providers.Object(tracing))

    async with open_stack(offline_settings(), configure=configure, warm_decoders=1) as stack:
        turns = wav_turns([shared_audio_dir / name for name in CLIPS], stack.format)
        outcome = await place_call(stack, turns, reply_timeout_s=30.0, settle_s=1.5, linger_s=1.0)
    assert outcome.result.ok, outcome.result.error
    call_id = outcome.result.call_connection_id
    finished = exporter.get_finished_spans()
    # The Event Grid post and the callbacks are HTTP SERVER spans of their own traces.
    http = [s for s in finished if CALL_ID_ATTRIBUTE not in (s.attributes or {})]
    assert any(s.kind is SpanKind.SERVER and "/api/acs/events" in s.name for s in http), [
        s.name for s in http
    ]
    spans = [s for s in finished if s not in http]
    assert len({s.context.trace_id for s in spans}) == 1
    assert {s.attributes[CALL_ID_ATTRIBUTE] for s in spans} == {call_id}
    [root] = [s for s in spans if s.name == "call"]
    assert root.kind is SpanKind.SERVER and root.attributes["parley.channel"] == "acs"
    names = [s.name for s in spans]
    assert names.count("user_turn") >= len(CLIPS)
    assert names.count("speech_recognition") >= len(CLIPS)
    assert names.count("chat offline") >= len(CLIPS)
    assert names.count("synthesis") >= len(CLIPS) + 1  # the greeting and each answer
    turns_ids = {s.context.span_id for s in spans if s.name == "user_turn"}
    assert all(s.parent.span_id in turns_ids for s in spans if s.name == "chat offline")
    provider.shutdown()
