"""call.html in a real headless Chromium: it renders, shows every turn and marker, no errors.

Drives Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``make test``) through
Playwright's Python package; Playwright's own browser download is never used. The screenshot
is saved under ``test-artifacts/`` (``PARLEY_ARTIFACTS_DIR`` to move it).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

from adapters.acs_emulator.scenario import CallResult, TurnResult
from bootstrap.call_command import CallReport, write_outputs
from ports import PCM16_16K
from tests.browser.conftest import open_call_html


def tone(ms: float, hz: float = 440.0, rate: int = 16_000, amplitude: int = 8000) -> bytes:
    n = int(rate * ms / 1000)
    return struct.pack(
        f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * hz * i / rate)) for i in range(n))
    )


def entry(kind: str, at_s: float, text: str = "", **data) -> dict:
    return {
        "kind": kind,
        "text": text,
        "at_ms": at_s * 1000.0,
        "agent": "concierge",
        "interrupted": False,
        "data": data,
    }


def turn_latency(stopped_s: float) -> dict:
    base = stopped_s * 1000.0
    marks = {
        "speech_stopped": base,
        "final": base + 300,
        "first_token": base + 700,
        "first_audio": base + 900,
        "first_frame": base + 950,
    }
    return entry(
        "turn_latency",
        stopped_s + 1.0,
        end_of_speech_to_final_transcript=300.0,
        time_to_first_token=400.0,
        marks=marks,
    )


def a_recorded_call() -> CallReport:
    """A two-turn call with a tool call, a handoff and a barge-in, on the monotonic axis."""
    t0 = 100.0
    agent = bytearray(bytes(PCM16_16K.frame_bytes(20)) * 50 * 12)  # 12 s of agent audio
    for start_s, length_ms in ((0.2, 1800), (4.2, 2500), (8.6, 900)):
        offset = PCM16_16K.frame_bytes(20) * int(start_s * 50)
        clip = tone(length_ms, 220.0)
        agent[offset : offset + len(clip)] = clip
    result = CallResult(
        call_connection_id="c-picture",
        format=PCM16_16K,
        turns=[
            TurnResult(
                "balance", 1500.0, spoke_at=t0 + 2.2, finished_at=t0 + 3.7, reply_at=t0 + 4.2
            ),
            TurnResult(
                "stop", 700.0, spoke_at=t0 + 6.0, finished_at=t0 + 6.7, stop_audio_at=t0 + 6.35
            ),
        ],
        agent_audio=bytes(agent),
        agent_audio_started_at=t0,
        stop_audio_times=[t0 + 6.35],
    )
    transcript = [
        entry("assistant", t0 + 2.0, "Hello, how can I help?"),
        entry("user", t0 + 4.0, "what is my balance"),
        entry("tool", t0 + 4.1, '{"balance": 42}', name="check_balance", call_id="t1"),
        turn_latency(t0 + 3.7),
        entry("event", t0 + 5.0, "handoff to fraud", event="handoff", to="fraud"),
        entry(
            "turn_latency",
            t0 + 6.35,
            barge_in_reaction=310.0,
            marks={"onset": (t0 + 6.04) * 1000, "stop_audio": (t0 + 6.35) * 1000},
        ),
        entry("user", t0 + 7.0, "stop"),
        turn_latency(t0 + 6.9),
        entry("assistant", t0 + 9.5, "Okay."),
    ]
    return CallReport(result, transcript, caller_pcm=[tone(1500), tone(700)])


def test_call_html_renders_every_turn_and_marker_without_console_errors(
    chromium_path: str, tmp_path: Path
) -> None:
    report = a_recorded_call()
    files = write_outputs(report, tmp_path)
    page_path = tmp_path / "call.html"
    assert page_path in files
    assert "cdn.plot.ly" not in page_path.read_text()[:2000]  # plotly.js is inlined
    picture = open_call_html(chromium_path, page_path, tmp_path / "profile", "call_html.png")
    counts, errors, requests = picture.counts, picture.errors, picture.requests
    assert errors == []
    assert all(url.startswith(("file:", "data:", "blob:", "about:")) for url in requests)
    assert counts["turns"] == 2
    assert counts["bars"] == 8  # four stages per turn
    assert counts["kinds"]["waveform"] == 2
    for kind in ("barge_in", "tool", "handoff", "stop_audio", "transcript"):
        assert counts["kinds"].get(kind) == 1, kind
    summary = counts["summary"]
    assert (summary["turns"], summary["barge_ins"], summary["stop_audio"]) == (2, 1, 1)
    assert (summary["tool_calls"], summary["handoffs"], summary["transcript_lines"]) == (1, 1, 4)
    assert json.loads((tmp_path / "transcript.json").read_text())["turns"][1]["server"]


async def test_a_recorded_call_renders_from_its_transcript_log_alone():
    from adapters.memory import ManualClock, MemoryTranscriptLog
    from bootstrap.call_report import render_recorded_call
    from ports import TranscriptEntry

    log = MemoryTranscriptLog(ManualClock())
    for row in a_recorded_call().transcript:
        await log.append("c-picture", TranscriptEntry(**row))
    page = await render_recorded_call(log, "c-picture")
    summary = page.split('id="call-summary" type="application/json">')[1].split("</script>")[0]
    assert json.loads(summary)["turns"] == 2
    with pytest.raises(KeyError):
        await render_recorded_call(log, "unknown")
