"""A whole ACS call (emulator, real server, real runtime) with PARLEY_LLM=azure_openai.

The model is the real OpenAI adapter talking to the local OpenAI stand-in (keyword agent);
speech is scripted (fake STT/TTS/VAD) so the test exercises the language model path of a
phone call, not recognition: the caller asks for the balance (a tool) and reports fraud (a
handoff to the fraud agent).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dependency_injector import providers

from adapters.acs_emulator.scenario import CallerTurn
from adapters.memory import FakeSpeechToText, FakeTextToSpeech, FakeVadFactory, tone_frames
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


def _speech(ms: int) -> bytes:
    return b"".join(f.data for f in tone_frames(PCM16_16K, ms, amplitude=6000))


async def test_parley_call_with_azure_openai_runs_a_tool_and_a_handoff(
    standin: OpenAIStandin,
) -> None:
    settings = standin_settings(
        standin.azure_endpoint, standin.api_key, stt="fake", tts="fake", vad="fake"
    )

    def configure(container: ApplicationContainer) -> None:
        stt = FakeSpeechToText(
            ["what is my balance", "I want to report fraud"], endpoint_silence_ms=300
        )
        container.adapters.stt.override(providers.Object(stt))
        container.adapters.tts.override(providers.Object(FakeTextToSpeech(ms_per_char=4.0)))
        container.adapters.vad_factory.override(providers.Object(FakeVadFactory()))

    turns = [CallerTurn("balance", _speech(900)), CallerTurn("fraud", _speech(900))]
    async with open_stack(settings, configure=configure) as stack:
        report = await place_call(stack, turns, speed=2.0, reply_timeout_s=20.0, settle_s=0.6)

    assert report.result.error is None, report.result.error
    kinds = [(e["kind"], e["agent"]) for e in report.transcript]
    tools = [e["data"].get("name") for e in report.transcript if e["kind"] == "tool"]
    assert "check_balance" in tools, kinds
    assert any(e["agent"] == "fraud" for e in report.transcript if e["kind"] == "assistant"), kinds
    assert report.user_texts[:2] == ["what is my balance", "I want to report fraud"]
    assert any(t.startswith("Done:") for t in report.agent_texts), report.agent_texts
    assert standin.requests, "the stand-in was never asked"
    assert {r.path for r in standin.requests} == {
        "/openai/deployments/bank-deployment/chat/completions"
    }
