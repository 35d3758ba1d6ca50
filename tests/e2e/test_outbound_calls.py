"""Outbound calls end to end: POST /api/calls, ACS create_call through the emulator, screening.

The emulator plays the callee: a person saying hello, an answering machine (a greeting worded
like one, then a beep the server's real beep detector hears), or a number that is busy, does not
answer or does not exist. Fake engines (loudness VAD, scripted recogniser, tone TTS).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from adapters.acs_emulator.telephony import Callee
from bootstrap.call_command import open_stack, read_transcript
from bootstrap.cli import app
from ports import PCM16_16K

from .outbound_support import (
    OPERATOR_KEY,
    agents_dir,
    beep,
    fakes,
    noise,
    place,
    result_of,
    settings_for,
    until,
)

pytestmark = pytest.mark.e2e

CALLEE = "+14255550123"


async def test_a_person_answers_and_is_greeted_by_name(tmp_path: Path) -> None:
    settings = settings_for(agents_dir(tmp_path))
    async with open_stack(settings, configure=fakes(["hello"]), warm_decoders=0) as stack:
        response = await place(
            stack.base_url, {"to": CALLEE, "agent": "caller", "variables": {"name": "Ana"}}
        )
        assert response.status_code == 202, response.text
        dial_id = response.json()["calls"][0]["id"]
        call = await until(lambda: next(iter(stack.emulator.calls.values()), None))
        await until(lambda: call.media is not None)
        media = call.media
        media.start_line()
        assert media.stats.frames_received == 0  # the agent waits for the callee's words
        await media.speak(noise(PCM16_16K, 600))
        await until(lambda: media.stats.frames_received > 20)
        await until(lambda: not media.playout.is_playing(), 15)
        await stack.emulator.hang_up(call)
        result = await result_of(stack.base_url, dial_id)
        transcript = await read_transcript(stack, call.call_connection_id)
    assert result["outcome"] == "completed" and result["call_id"] == call.call_connection_id
    said = [e["text"] for e in transcript if e["kind"] == "assistant"]
    assert said[0] == "Hi Ana, this is Parley Bank calling about your card."
    events = [e["data"] for e in transcript if e["kind"] == "event"]
    assert {"event": "answered_by", "answered_by": "human", "heard": "hello"} in events
    assert not [e for e in transcript if e["kind"] == "user"]  # "hello" was not a turn


async def test_an_answering_machine_gets_the_message_after_its_beep(tmp_path: Path) -> None:
    settings = settings_for(agents_dir(tmp_path))
    greeting = "hi you have reached ana please leave a message after the tone"
    async with open_stack(settings, configure=fakes([greeting]), warm_decoders=0) as stack:
        response = await place(
            stack.base_url, {"to": CALLEE, "agent": "caller", "variables": {"name": "Ana"}}
        )
        dial_id = response.json()["calls"][0]["id"]
        call = await until(lambda: next(iter(stack.emulator.calls.values()), None))
        await until(lambda: call.media is not None)
        media = call.media
        media.start_line()
        await media.speak(noise(PCM16_16K, 1800))
        await media.speak(bytes(PCM16_16K.frame_bytes(20) * 15))  # the greeting ends
        assert media.stats.frames_received == 0  # no word to a machine before its beep
        await media.speak(beep(PCM16_16K))
        result = await result_of(stack.base_url, dial_id)
        transcript = await read_transcript(stack, call.call_connection_id)
    assert result["outcome"] == "voicemail" and result["end_reason"] == "voicemail"
    assert call.hang_ups == ["terminate"]
    assert media.stats.bytes_received > 0  # the message was played
    events = [e["data"] for e in transcript if e["kind"] == "event"]
    assert any(e.get("answered_by") == "machine" for e in events)
    assert {"event": "voicemail", "after": "beep", "message": True} in events
    said = [e["text"] for e in transcript if e["kind"] == "assistant"]
    assert said == ["Hi Ana, Parley Bank here. Please call us back. Goodbye."]


@pytest.mark.parametrize(
    ("callee", "outcome"),
    [
        (Callee.BUSY, "busy"),
        (Callee.NO_ANSWER, "no_answer"),
        (Callee.DECLINED, "rejected"),
        (Callee.INVALID, "invalid_number"),
    ],
)
async def test_calls_that_never_connect_come_back_as_outcomes(
    tmp_path: Path, callee: Callee, outcome: str
) -> None:
    settings = settings_for(agents_dir(tmp_path))
    async with open_stack(settings, configure=fakes([]), warm_decoders=0) as stack:
        stack.emulator.telephony.callees[CALLEE] = callee
        response = await place(stack.base_url, {"to": CALLEE})
        result = await result_of(stack.base_url, response.json()["calls"][0]["id"])
        metrics = stack.container.adapters.metrics_registry()  # type: ignore[union-attr]
        counted = metrics.get_sample_value("parley_outbound_calls_total", {"outcome": outcome})
    assert result["outcome"] == outcome and result["result_code"] >= 400
    assert counted == 1.0


async def test_the_calls_api_validates_and_authenticates(tmp_path: Path) -> None:
    settings = settings_for(agents_dir(tmp_path))
    async with open_stack(settings, configure=fakes([]), warm_decoders=0) as stack:
        async with httpx.AsyncClient() as http:
            unauthorised = await http.post(stack.base_url + "/api/calls", json={"to": CALLEE})
        bad_number = await place(stack.base_url, {"to": "12345"})
        unknown_agent = await place(stack.base_url, {"to": CALLEE, "agent": "nobody"})
        naive_time = await place(stack.base_url, {"to": CALLEE, "at": "2030-01-01T09:00:00"})
        batch = await place(
            stack.base_url,
            {"calls": [{"to": CALLEE, "at": "2099-01-01T09:00:00Z"} for _ in range(3)]},
        )
    assert unauthorised.status_code == 401
    assert bad_number.status_code == 422 and "to" in bad_number.json()["problems"][0]
    assert unknown_agent.status_code == 422 and "nobody" in unknown_agent.text
    assert naive_time.status_code == 422
    assert batch.status_code == 202 and [c["outcome"] for c in batch.json()["calls"]] == [
        "queued"
    ] * 3


async def test_parley_dial_places_the_calls_and_prints_their_outcomes(tmp_path: Path) -> None:
    settings = settings_for(agents_dir(tmp_path))
    async with open_stack(settings, configure=fakes([]), warm_decoders=0) as stack:
        stack.emulator.telephony.callees[CALLEE] = Callee.BUSY
        args = ["dial", CALLEE, "--server", stack.base_url, "--key", OPERATOR_KEY,
                "--env-file", str(tmp_path / "none.env"), "--timeout", "20"]  # fmt: skip
        # The command is synchronous; the server runs on this loop meanwhile.
        result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output
    assert "queued +14255550123" in result.output and "busy" in result.output


@pytest.mark.slow
async def test_synthesised_greetings_are_told_apart_by_the_offline_engines(tmp_path: Path) -> None:
    """espeak-ng speaks the callee; the embedded default engines hear it; the beep detector is real.

    A person says "Hello?"; an answering machine plays a voicemail greeting, then a beep. The
    server hears with Silero VAD (a 250 ms end of speech, as with an end-of-turn model),
    Whisper and Smart Turn: the greeting's sentence breaks are pauses with finals of their
    own ("Hi, you have reached Ana."), which must not be taken for a person's short hello.
    """
    from dataclasses import replace

    from dependency_injector import providers
    from pydantic import SecretStr

    from adapters.local.tts import EspeakTextToSpeech
    from adapters.memory import FakeTextToSpeech
    from bootstrap.call_command import synthesize_turns

    from .acs_support import offline_settings

    base = offline_settings(llm="fake")
    settings = replace(
        base,
        server=base.server.model_copy(
            update={"agents_dir": agents_dir(tmp_path), "operator_key": SecretStr(OPERATOR_KEY)}
        ),
    )

    def quick_agent_speech(container: object) -> None:
        container.adapters.tts.override(  # type: ignore[attr-defined]
            providers.Object(FakeTextToSpeech(ms_per_char=8))
        )

    person, machine = "+14255550123", "+14255550124"
    lines = [
        "Hello?",
        "Hi, you have reached Ana. I cannot take your call right now. "
        "Please leave a message after the tone.",
    ]
    async with open_stack(settings, configure=quick_agent_speech, warm_decoders=1) as stack:
        hello, greeting = await synthesize_turns(EspeakTextToSpeech(), lines, PCM16_16K)
        outcomes, events = {}, {}
        for number, turn, then_beep in ((person, hello, False), (machine, greeting, True)):
            response = await place(stack.base_url, {"to": number, "agent": "caller"})
            dial_id = response.json()["calls"][0]["id"]
            call = await until(
                lambda n=number: next(
                    (c for c in stack.emulator.calls.values() if c.caller_raw_id == f"4:{n}"),
                    None,
                )
            )
            await until(lambda c=call: c.media is not None)
            media = call.media
            media.start_line()
            await media.speak(turn.pcm)
            if then_beep:
                await media.speak(bytes(PCM16_16K.frame_bytes(20) * 40))
                await media.speak(beep(PCM16_16K))
            else:
                await until(lambda m=media: m.stats.frames_received > 20, 20)
                await stack.emulator.hang_up(call)
            outcomes[number] = await result_of(stack.base_url, dial_id, timeout=40)
            transcript = await read_transcript(stack, call.call_connection_id)
            events[number] = [e["data"] for e in transcript if e["kind"] == "event"]
    assert outcomes[person]["outcome"] == "completed"
    assert [e["answered_by"] for e in events[person] if "answered_by" in e] == ["human"]
    assert outcomes[machine]["outcome"] == "voicemail", events[machine]
    assert [e["answered_by"] for e in events[machine] if "answered_by" in e] == ["machine"]
    assert {"event": "voicemail", "after": "beep", "message": True} in events[machine]
