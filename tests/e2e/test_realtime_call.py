"""A whole realtime call through the ACS emulator: ``PARLEY_PIPELINE=realtime parley call``.

The server answers ACS at 24 kHz and runs the call over the real ``azure-ai-voicelive`` SDK
against the realtime stand-in in agent mode: its own VAD and pocketsphinx transcribe the shared
real-speech clips, the offline dialog model over ``tests/e2e/realtime_agents`` answers with a
tool call and a handoff, espeak-ng speaks. The caller then talks over the guide's long answer:
StopAudio must reach the wire and the ``conversation.item.truncate`` must cut the item at the
audio the caller actually heard.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.acs_emulator.scenario import CallerTurn
from adapters.audio.convert import read_wav
from bootstrap.call_command import open_stack, place_call
from ports import PCM16_24K
from tests.emulators.realtime_standin import agent_standin, running_realtime_standin

from .realtime_support import REALTIME_AGENTS, realtime_settings

pytestmark = [pytest.mark.e2e, pytest.mark.standin, pytest.mark.slow]


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """``parley call`` configures logging onto CliRunner's stream; put the root logger back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def report(line: str) -> None:
    print(line)  # noqa: T201 (the test's figures are its report)


def played_ms(arrivals: list[float], since: float, until: float) -> float:
    """Agent audio the far end played between ``since`` and ``until`` (monotonic s), in ms.

    Each 20 ms frame plays from its arrival or the end of the one before, whichever is later,
    as the emulator's playout does.
    """
    end = 0.0
    played = 0.0
    for arrival in arrivals:
        start = max(end, arrival)
        end = start + 0.020
        if arrival >= since:
            played += max(0.0, min(end, until) - start)
    return played * 1000.0


async def test_a_realtime_call_reaches_a_tool_a_handoff_and_a_truncated_barge_in(
    shared_audio_dir: Path,
) -> None:
    clips = [
        read_wav(shared_audio_dir / name, PCM16_24K).data
        for name in ("whats_the_weather_like.wav", "brooklyn_bridge.wav", "go_forward.wav")
    ]
    turns = [
        CallerTurn("whats_the_weather_like.wav", clips[0]),
        CallerTurn("brooklyn_bridge.wav", clips[1]),
        CallerTurn("go_forward.wav", clips[2], barge_in_after_ms=1500),
    ]
    with running_realtime_standin(agent_standin(str(REALTIME_AGENTS))) as standin:
        # The service ends the session after the weather answer (its session limit): the
        # call goes on in a new session that got the conversation replayed.
        standin.faults.expire_after_responses = 3
        settings = realtime_settings(standin)
        async with open_stack(settings, warm_decoders=0, keep_frame_times=True) as stack:
            assert stack.format == PCM16_24K  # ACS answered at 24 kHz in realtime mode
            outcome = await place_call(
                stack, turns, speed=1.0, reply_timeout_s=30.0, settle_s=1.5, linger_s=1.0
            )
            call = stack.emulator.calls[outcome.result.call_connection_id]
            assert call.media is not None
            arrivals = list(call.media.stats.frame_times)
    result = outcome.result
    assert result.ok, result.error
    transcript = outcome.transcript
    users = [e["text"] for e in transcript if e["kind"] == "user"]
    assert "weather" in " ".join(users) and "bridge" in " ".join(users)
    tools = [e for e in transcript if e["kind"] == "tool"]
    assert [t["data"]["name"] for t in tools][:2] == ["get_weather", "handoff_to_guide"]
    assert any(e["kind"] == "event" and e["text"] == "handoff to guide" for e in transcript)
    agent_lines = [(e["agent"], e["text"]) for e in transcript if e["kind"] == "assistant"]
    assert ("desk", "It is sunny and mild today.") in agent_lines
    # Greeting, tool round, answer: then the session expired and a second one took over,
    # with the history replayed as conversation items.
    first, session = standin.sessions
    assert first.responses == 3
    replayed = [i.text for i in session.items if i.type in ("message", "function_call_output")]
    assert replayed[:4] == [
        "Hi, this is the desk. How can I help?",
        "what's the weather like",
        '{"summary":"sunny and mild"}',
        "It is sunny and mild today.",
    ]
    # The session followed the handoff: the guide's instructions and voice.
    assert session.dialect == "voicelive"
    assert session.instructions.startswith("You are the city guide")
    assert session.session["voice"] == {
        "name": "en-US-AndrewMultilingualNeural",
        "type": "azure-standard",
    }
    # Barge-in: StopAudio on the wire, the item truncated at the audio the caller heard.
    barge = result.turns[2]
    assert barge.stop_audio_at is not None, "no StopAudio after the caller talked over the agent"
    [(item_id, audio_end_ms, item_ms)] = session.truncations
    since, until = result.turns[1].finished_at, barge.stop_audio_at
    heard_ms = played_ms(arrivals, since, until)
    sent_ms = 20.0 * sum(1 for t in arrivals if since <= t <= until)
    report(
        f"\ntruncate audio_end_ms {audio_end_ms} of {item_ms:.0f} ms; before StopAudio the"
        f" item's audio on the wire was {sent_ms:.0f} ms, of which the caller heard"
        f" {heard_ms:.0f} ms"
    )
    # Cut at what was played: never past the audio actually sent, and behind it by at most
    # what the far end may hold (the pacing lead, 100 ms) and one frame. (On a quiet machine
    # it equals the emulator's own played figure; under load the two drift by scheduling.)
    assert sent_ms - 100 - 20 <= audio_end_ms <= sent_ms
    assert audio_end_ms < item_ms
    for e in transcript:
        report(f"{e['kind']:12} {e['agent']:8} {e['interrupted']!s:6} {e['text'][:90]}")
    cut = [e for e in transcript if e["kind"] == "assistant" and e["interrupted"]]
    assert cut and cut[0]["agent"] == "guide"
    assert cut[0]["text"].startswith("The Brooklyn Bridge")
    assert len(cut[0]["text"]) < 200  # only the words heard of a ~330-character answer


def test_parley_call_runs_in_realtime_mode_from_one_setting(
    shared_audio_dir: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from bootstrap.cli import app
    from tests.emulators.realtime_standin import API_KEY

    with running_realtime_standin(agent_standin(str(REALTIME_AGENTS))) as standin:
        env = tmp_path / "realtime.env"
        env.write_text(
            "PARLEY_PIPELINE=realtime\nPARLEY_REALTIME=voicelive\n"
            f"AZURE_VOICELIVE_ENDPOINT={standin.base_url}\nAZURE_VOICELIVE_API_KEY={API_KEY}\n"
            f"PARLEY_AGENTS_DIR={REALTIME_AGENTS}\nPARLEY_LOG_LEVEL=WARNING\n"
        )
        out = tmp_path / "out"
        result = CliRunner().invoke(
            app,
            [
                "call",
                str(shared_audio_dir / "whats_the_weather_like.wav"),
                "--env-file",
                str(env),
                "--out",
                str(out),
            ],
        )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "transcript.json").read_text())
    assert saved["sample_rate_hz"] == 24000
    kinds = [(e["kind"], e["text"]) for e in saved["transcript"]]
    assert ("assistant", "It is sunny and mild today.") in kinds
    assert any(kind == "tool" for kind, _ in kinds)
    assert read_wav(out / "agent.wav").format.sample_rate_hz == 24000
