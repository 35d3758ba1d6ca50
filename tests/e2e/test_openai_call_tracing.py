"""Outbound ``traceparent``: an ACS call's model requests continue the call's trace.

The real OpenAI adapter talks to the local OpenAI stand-in (which records request headers)
inside a whole emulated ACS call, traced into the SDK's in-memory exporter. Every chat request
must carry a W3C ``traceparent`` ("Trace Context", https://www.w3.org/TR/trace-context/) in the
call's trace, whose parent is the request's ``chat`` span (or the HTTP client span under it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from dependency_injector import providers
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.acs_emulator.scenario import CallerTurn
from adapters.memory import FakeSpeechToText, FakeTextToSpeech, FakeVadFactory, tone_frames
from adapters.otel import CALL_ID_ATTRIBUTE
from adapters.otel.setup import make_provider
from bootstrap.call_command import open_stack, place_call
from bootstrap.containers import ApplicationContainer
from ports import PCM16_16K
from tests.emulators.openai_standin import OpenAIStandin, running_standin

from .acs_support import standin_settings

pytestmark = [pytest.mark.e2e, pytest.mark.standin]


@pytest.fixture
def standin() -> Iterator[OpenAIStandin]:
    with running_standin() as running:
        yield running


async def test_each_model_request_carries_the_calls_traceparent(standin: OpenAIStandin) -> None:
    settings = standin_settings(
        standin.azure_endpoint, standin.api_key, stt="fake", tts="fake", vad="fake"
    )
    # The post-call summary's request comes after the call's trace has ended (a job of its
    # own, docs/observability.md): only the call's chat requests are under test here.
    settings = dataclasses.replace(
        settings, records=settings.records.model_copy(update={"summary": False})
    )
    exporter = InMemorySpanExporter()
    provider = make_provider(exporter, batch=False)

    def configure(container: ApplicationContainer) -> None:
        stt = FakeSpeechToText(["what is my balance"], endpoint_silence_ms=300)
        container.adapters.stt.override(providers.Object(stt))
        container.adapters.tts.override(providers.Object(FakeTextToSpeech(ms_per_char=4.0)))
        container.adapters.vad_factory.override(providers.Object(FakeVadFactory()))
        # The provider only: the tracing resource builds the Tracing and instruments outbound
        # HTTP over it, as it does for an exporter chosen by settings.
        container.adapters.tracer_provider.override(providers.Object(provider))

    speech = b"".join(f.data for f in tone_frames(PCM16_16K, 900, amplitude=6000))
    async with open_stack(settings, configure=configure) as stack:
        report = await place_call(
            stack, [CallerTurn("balance", speech)], speed=2.0, reply_timeout_s=20.0, settle_s=0.6
        )
    assert report.result.error is None, report.result.error
    spans = exporter.get_finished_spans()
    provider.shutdown()
    call_id = report.result.call_connection_id
    [root] = [s for s in spans if s.name == "call" and s.attributes[CALL_ID_ATTRIBUTE] == call_id]
    trace_id = format(root.context.trace_id, "032x")
    chats = {s.context.span_id for s in spans if s.name.startswith("chat ")}
    under_chat = chats | {
        s.context.span_id for s in spans if s.parent is not None and s.parent.span_id in chats
    }
    assert standin.requests and chats
    for request in standin.requests:
        version, trace, parent, _flags = request.headers["traceparent"].split("-")
        assert (version, trace) == ("00", trace_id)
        assert int(parent, 16) in under_chat
