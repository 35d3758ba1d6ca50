"""Whole Twilio calls through the Twilio emulator and the in-process server (fake engines).

The emulator posts the signed Voice webhook, runs the ``<Connect><Stream>`` the server answers
with, and streams the caller as 8 kHz mu-law; the server runs the real gateway, media stream,
runtime and REST ``CallControl`` (the ``twilio`` client against the emulator). Engines are the
fakes (scripted speech-to-text, tone text-to-speech), so these runs are quick and exact; the
offline engines on Twilio's narrowband audio are measured by ``parley call --telephony twilio``
and ``benchmarks/bench_twilio_calls.py``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers

from adapters.acs_emulator.scenario import CallerTurn
from adapters.memory import (
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    ScriptedLanguageModel,
    ScriptedTurn,
    tone_frames,
)
from adapters.twilio_emulator import Answer
from adapters.twilio_emulator.media_client import PCM8K, TwilioMediaClient
from bootstrap.containers import ApplicationContainer
from bootstrap.twilio_call import open_twilio_stack, place_twilio_call
from ports import ChatMessage, ModelOptions, Role, ToolCall, ToolSpec

from .acs_support import offline_settings
from .outbound_support import agents_dir, fakes, noise, place, result_of, settings_for, until

pytestmark = pytest.mark.e2e

DESK = "+14255550100"
"""Where the concierge's transfer_to_human tool sends callers (agents/tools.py)."""


def fake_settings():  # type: ignore[no-untyped-def]
    return offline_settings(stt="fake", tts="fake", llm="fake", vad="fake")


def speech(ms: int) -> bytes:
    """Caller "speech": a loud tone at 8 kHz (the fakes hear loudness)."""
    return b"".join(f.data for f in tone_frames(PCM8K, ms, amplitude=8000))


def overrides(
    heard: Sequence[str], model: ScriptedLanguageModel | None = None
) -> Callable[[ApplicationContainer], None]:
    def configure(container: ApplicationContainer) -> None:
        container.adapters.stt.override(providers.Object(FakeSpeechToText(list(heard))))
        container.adapters.vad_factory.override(providers.Object(FakeVadFactory()))
        # Short agent speech (about 10 ms per character) keeps each call a few seconds long.
        container.adapters.tts.override(providers.Object(FakeTextToSpeech(ms_per_char=10)))
        if model is not None:
            container.adapters.llm.override(providers.Object(model))

    return configure


def transferring_model() -> ScriptedLanguageModel:
    def respond(
        messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions
    ) -> ScriptedTurn:
        if messages[-1].role is Role.USER and any(t.name == "transfer_to_human" for t in tools):
            return ScriptedTurn(tool_calls=(ToolCall("call_1", "transfer_to_human", {}),))
        return ScriptedTurn("One moment.")

    return ScriptedLanguageModel(responder=respond)


async def test_a_twilio_call_is_answered_streamed_and_heard_through_the_emulator() -> None:
    configure = overrides(["what is my balance"])
    async with open_twilio_stack(fake_settings(), configure=configure, warm_decoders=0) as stack:
        report = await place_twilio_call(
            stack, [CallerTurn("balance", speech(1200))], reply_timeout_s=10.0, settle_s=0.6
        )
        call = stack.emulator.calls[report.result.call_connection_id]
    result = report.result
    assert result.ok, result.error
    assert call.callbacks[0] == ("voice", 200)  # the signed webhook was accepted
    assert "<Connect><Stream" in call.twiml[0] and "call_token" in call.twiml[0]
    assert result.greeting_ms is not None and result.agent_bytes_received > 0
    turn = result.turns[0]
    assert turn.reply_at is not None and turn.reply_audio_ms > 0
    assert report.user_texts == ["what is my balance"]
    assert len(report.agent_texts) >= 2  # the greeting and the reply
    assert call.media is not None and call.media.marks_echoed > 0  # playback confirmed by marks


LONG_ANSWER = "Here is a long answer that goes on and on " * 20
"""One clause (no punctuation): its words' audio offsets are ``chars * 10 ms`` from its start."""


def heard_within(text: str, played_ms: float, ms_per_char: float = 10.0) -> str:
    """The words of ``text`` whose audio starts before ``played_ms`` (the fake TTS's timing)."""
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    heard = [(a, b) for a, b in spans if (a - spans[0][0]) * ms_per_char < played_ms]
    return text[spans[0][0] : heard[-1][1]] if heard else ""


async def test_barge_in_sends_clear_and_keeps_only_what_was_played() -> None:
    long_answer = ScriptedLanguageModel([ScriptedTurn(LONG_ANSWER), ScriptedTurn("Sure.")])
    configure_all = overrides(["tell me everything", "stop"], long_answer)
    async with open_twilio_stack(
        fake_settings(), configure=configure_all, warm_decoders=0
    ) as stack:
        report = await place_twilio_call(
            stack,
            [CallerTurn("ask", speech(1000)), CallerTurn("interrupt", speech(900), 1000)],
            reply_timeout_s=15.0,
            settle_s=0.6,
        )
        media = stack.emulator.calls[report.result.call_connection_id].media
    result = report.result
    assert result.ok, result.error
    ask, barge = result.turns
    assert barge.stop_audio_at is not None, "no clear on the wire after the caller barged in"
    assert result.bytes_discarded > 0  # the emulator dropped buffered audio on clear
    # What the emulator played of the answer when the clear arrived (the reply to "ask" starts
    # once the greeting has played out: the caller waited for silence).
    assert media is not None
    clear = result.stop_audio_times.index(barge.stop_audio_at)
    played_ms = PCM8K.duration_ms(media.playout.played_at_clear[clear] - ask.played_before_bytes)
    cut = [e["text"] for e in report.transcript if e["kind"] == "assistant" and e["interrupted"]]
    assert len(cut) == 1 and 1000 <= played_ms < len(LONG_ANSWER) * 10
    # The words kept are those that started playing, to within one 20 ms frame of the truth.
    fewest = heard_within(LONG_ANSWER, played_ms - 20)
    most = heard_within(LONG_ANSWER, played_ms + 20)
    assert LONG_ANSWER.startswith(cut[0]), cut[0]
    assert len(fewest) <= len(cut[0]) <= len(most), (cut[0], played_ms)


async def test_unsigned_webhooks_and_unknown_streams_are_refused() -> None:
    async with open_twilio_stack(fake_settings(), warm_decoders=0) as stack:
        emulator = stack.emulator
        call = emulator.new_incoming_call()
        status, _ = await emulator.post(call, stack.voice_url, {}, "forged", signature="AAAA")
        assert status == 403
        async with httpx.AsyncClient() as http:
            unsigned = await http.post(stack.voice_url, data={"CallSid": call.call_sid})
            status_cb = await http.post(
                stack.base_url + "/api/twilio/status", data={"CallSid": call.call_sid}
            )
        assert (unsigned.status_code, status_cb.status_code) == (403, 403)
        media_url = stack.base_url.replace("http://", "ws://") + "/ws/twilio/media"
        for token in ("", "forged.token"):
            client = TwilioMediaClient(
                media_url,
                call_sid=call.call_sid,
                account_sid=emulator.account_sid,
                parameters={"call_token": token},
            )
            await client.connect()
            await asyncio.wait_for(client.closed.wait(), 5)
            assert client.close_code == 1008, token


@pytest.mark.parametrize(
    ("outcome", "streams"),
    [(Answer.ANSWER, 1), (Answer.NO_ANSWER, 2)],
    ids=["answered", "no-answer"],
)
async def test_a_transfer_dials_the_desk_and_an_unanswered_one_comes_back(
    outcome: Answer, streams: int
) -> None:
    configure = overrides(["a person please"], transferring_model())
    async with open_twilio_stack(
        fake_settings(), configure=configure, warm_decoders=0, outcomes={DESK: outcome}
    ) as stack:
        report = await place_twilio_call(
            stack, [CallerTurn("person", speech(1000))], reply_timeout_s=3.0, settle_s=0.6
        )
        call = stack.emulator.calls[report.result.call_connection_id]
        if outcome is Answer.NO_ANSWER:
            # The dial's action TwiML streams the caller back to the agent: a second stream.
            await asyncio.wait_for(_until(lambda: call.streams >= 2), 10)
            await stack.emulator.hang_up(call)
        await asyncio.wait_for(call.ended.wait(), 10)
    assert call.transfers == [DESK]
    names = [name for name, _ in call.callbacks]
    if outcome is Answer.ANSWER:
        assert ("number:answered", 204) in call.callbacks
        assert ("dial:completed", 200) in call.callbacks
    else:
        assert "dial:no-answer" in names
    assert call.streams == streams


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.02)


@pytest.mark.parametrize(("answer", "outcome"), [(None, "completed"), (Answer.BUSY, "busy")])
async def test_an_outbound_twilio_call_runs_or_comes_back_busy(
    tmp_path: Path, answer: Answer | None, outcome: str
) -> None:
    callee = "+14255550123"
    outcomes = {callee: answer} if answer is not None else {}
    settings = settings_for(agents_dir(tmp_path))
    async with open_twilio_stack(
        settings, configure=fakes(["hello"]), warm_decoders=0, outcomes=outcomes
    ) as stack:
        response = await place(stack.base_url, {"to": callee, "variables": {"name": "Ana"}})
        assert response.status_code == 202, response.text
        dial_id = response.json()["calls"][0]["id"]
        call = await until(lambda: next(iter(stack.emulator.calls.values()), None))
        if answer is None:
            await until(lambda: call.media is not None)
            call.media.start_line()
            await call.media.speak(noise(PCM8K, 600))
            await until(lambda: call.media.stats.frames_received > 20)
            await stack.emulator.hang_up(call)
        result = await result_of(stack.base_url, dial_id)
    assert result["outcome"] == outcome
    assert call.direction == "outbound-api" and call.to_number == callee
    if answer is None:
        names = [name for name, _ in call.callbacks]
        assert "status:in-progress" in names  # the answered status callback, signed
