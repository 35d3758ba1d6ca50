"""Spans reach a real OTLP/HTTP receiver on 127.0.0.1; a failing or hanging one harms no call."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from adapters.otel import CALL_ID_ATTRIBUTE, OtelTracing
from adapters.otel.setup import make_provider, otlp_exporter
from tests.fixtures.otlp_receiver import Receiver, attributes, running_receiver

from ...runtime.harness import make_rig


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


def test_a_call_trace_is_exported_over_otlp_http(receiver: Receiver):
    provider = make_provider(otlp_exporter(receiver.endpoint, timeout_s=5.0))
    tracing = OtelTracing(provider, default_model="gpt-test")
    trace = tracing.start_call("acs-call-7", 0.0, channel="acs")
    trace.speech_started(100.0)
    trace.final_transcript(900.0, words=3)
    trace.model_request_started("r1", 950.0, agent="concierge", model=None)
    trace.model_first_token("r1", 1200.0)
    trace.model_request_ended("r1", 1500.0, outcome="ok")
    trace.end("hang_up", 2000.0)
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert receiver.paths and set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans()
    assert sorted(s.name for s in spans) == sorted(
        ["call", "user_turn", "speech_recognition", "chat gpt-test"]
    )
    assert {attributes(s)[CALL_ID_ATTRIBUTE] for s in spans} == {"acs-call-7"}
    assert len({s.trace_id for s in spans}) == 1
    resource = receiver.requests[0].resource_spans[0].resource
    assert {kv.key: kv.value.string_value for kv in resource.attributes}["service.name"] == (
        "parley"
    )


class ExplodingExporter(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans) -> SpanExportResult:
        self.calls += 1
        raise RuntimeError("collector down")

    def shutdown(self) -> None:
        pass


async def answered_call(tracing) -> tuple:
    rig = make_rig(tracing=tracing, heard=["what is my balance"], turns=["Forty two."])
    await rig.start()
    await rig.silence(1500)
    await rig.say(600)
    await rig.silence(2000)
    summary = await rig.hang_up_remote()
    return rig, summary


async def test_an_exporter_that_raises_never_affects_the_call():
    exporter = ExplodingExporter()
    provider = make_provider(exporter, batch=False)
    rig, summary = await answered_call(OtelTracing(provider))
    assert exporter.calls > 0
    assert rig.spoken() == ["Hello, how can I help?", "Forty two."]
    assert (summary.user_turns, summary.end_reason) == (1, "remote_closed")
    provider.shutdown()


async def test_a_hanging_collector_never_affects_the_call():
    release = threading.Event()
    with running_receiver(hang=release) as server:
        provider = make_provider(otlp_exporter(server.endpoint, timeout_s=0.5))
        try:
            rig, summary = await answered_call(OtelTracing(provider))
            assert rig.spoken() == ["Hello, how can I help?", "Forty two."]
            assert summary.user_turns == 1
            provider.force_flush(100)
            assert server.got.wait(10), "the exporter reached the hanging collector"
        finally:
            release.set()
            provider.shutdown()
