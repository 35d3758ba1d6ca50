"""A picture of one call: ``call.html``, a self-contained Plotly timeline.

One time axis (seconds from the start of the call's audio) with, top to bottom: the caller's
waveform, the agent's waveform (what the caller heard), and a lane of events: the transcript
lines where they were recognised or spoken, each turn's latency stages as stacked bars (end of
speech -> final transcript -> first token -> first audio -> first frame), barge-ins (caller
onset -> ``stop_audio()``), every ``StopAudio`` seen on the wire, tool calls and handoffs.

The page inlines plotly.js (Plotly's offline HTML output), so it opens with no network. It
also carries a JSON summary (``<script id="call-summary" type="application/json">``) with
the counts the page shows, for tests and tools.

:func:`render_call_html` takes a :class:`CallRecord`: :func:`record_from_report` builds one
from a ``parley call`` run (with audio), :func:`record_from_transcript` from a recorded call's
transcript alone (``parley serve`` and the console, no audio).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ports import TranscriptLog

STAGES = (
    ("speech_stopped", "final", "end of speech -> final", "#9e9e9e"),
    ("final", "first_token", "final -> first token", "#42a5f5"),
    ("first_token", "first_audio", "first token -> first audio", "#ab47bc"),
    ("first_audio", "first_frame", "first audio -> first frame", "#26a69a"),
)
"""Latency bar segments: from mark, to mark, legend label, colour."""

_ENVELOPE_POINTS = 2000
"""Waveform buckets per track: a min/max envelope, never a point per sample."""


@dataclass(slots=True)
class AudioTrack:
    """A stretch of PCM16LE mono audio on the call's time axis.

    Attributes:
        pcm: Samples, PCM16LE mono.
        sample_rate_hz: Their rate, Hz.
        start_ms: Clock time (monotonic ms) of the first sample.
        duration_ms: Span on the axis, ms (None: the audio's own length; a caller line
            played faster than real time is squeezed into the time it took).
    """

    pcm: bytes
    sample_rate_hz: int
    start_ms: float
    duration_ms: float | None = None


@dataclass(slots=True)
class CallRecord:
    """Everything the picture shows. Times are monotonic ms of the server's clock.

    Attributes:
        call_id: The call connection id.
        transcript: Transcript entries as JSON objects (``kind``, ``text``, ``at_ms``,
            ``agent``, ``interrupted``, ``data``), as ``transcript.json`` holds them.
        origin_ms: Time 0 of the axis.
        caller_audio: Caller audio tracks.
        agent_audio: Agent audio tracks.
        stop_audio_ms: When each ``StopAudio`` reached the caller.
    """

    call_id: str
    transcript: list[dict[str, Any]]
    origin_ms: float
    caller_audio: list[AudioTrack] = field(default_factory=list)
    agent_audio: list[AudioTrack] = field(default_factory=list)
    stop_audio_ms: list[float] = field(default_factory=list)


def record_from_transcript(call_id: str, transcript: Sequence[dict[str, Any]]) -> CallRecord:
    """A record of a call known only by its transcript (no waveforms)."""
    entries = list(transcript)
    times = [float(e.get("at_ms", 0.0)) for e in entries]
    for entry in entries:
        marks = (entry.get("data") or {}).get("marks") or {}
        times.extend(float(v) for v in marks.values() if isinstance(v, int | float))
    return CallRecord(call_id, entries, min(times) if times else 0.0)


def record_from_report(report: Any, caller_pcm: Sequence[bytes] = ()) -> CallRecord:
    """A record of a ``parley call`` run.

    Args:
        report: A :class:`bootstrap.call_command.CallReport`.
        caller_pcm: Each caller turn's PCM in the call's format, in turn order.
    """
    result = report.result
    rate = result.format.sample_rate_hz if result.format is not None else 16_000
    start = result.agent_audio_started_at * 1000.0
    agent = [AudioTrack(result.agent_audio, rate, start)] if result.agent_audio else []
    caller = [
        AudioTrack(pcm, rate, turn.spoke_at * 1000.0, (turn.finished_at - turn.spoke_at) * 1000.0)
        for turn, pcm in zip(result.turns, caller_pcm, strict=False)
        if turn.spoke_at
    ]
    record = record_from_transcript(result.call_connection_id, report.transcript)
    starts = [t.start_ms for t in agent + caller]
    if starts:
        record.origin_ms = min(starts)
    record.caller_audio = caller
    record.agent_audio = agent
    record.stop_audio_ms = [t * 1000.0 for t in result.stop_audio_times]
    return record


async def render_recorded_call(transcripts: TranscriptLog, call_id: str) -> str:
    """``call.html`` of a recorded call from its transcript log (``parley serve``, console).

    The page is built on a worker thread: Plotly's serialisation of a long call takes
    tens of ms of CPU that must not stall the calls on the event loop.

    Args:
        transcripts: The server's transcript log.
        call_id: The call connection id.

    Raises:
        KeyError: The log has no entry for ``call_id``.
    """
    entries = await transcripts.read(call_id)
    if not entries:
        raise KeyError(call_id)
    rows = [
        {
            "kind": e.kind,
            "text": e.text,
            "at_ms": round(e.at_ms, 1),
            "agent": e.agent,
            "interrupted": e.interrupted,
            "data": e.data,
        }
        for e in entries
    ]
    return await asyncio.to_thread(render_call_html, record_from_transcript(call_id, rows))


def _envelope(track: AudioTrack, origin_ms: float) -> tuple[list[float], list[float]]:
    """Times (s) and values (-1..1) of a min/max envelope of ``track``, with gaps between tracks."""
    samples = np.frombuffer(track.pcm[: len(track.pcm) & ~1], dtype="<i2").astype(np.float32)
    if samples.size == 0:
        return [], []
    own_ms = samples.size * 1000.0 / track.sample_rate_hz
    span_ms = track.duration_ms if track.duration_ms else own_ms
    buckets = max(1, min(_ENVELOPE_POINTS, samples.size))
    edges = np.linspace(0, samples.size, buckets + 1, dtype=np.int64)
    highs = np.maximum.reduceat(samples, edges[:-1]) / 32768.0
    lows = np.minimum.reduceat(samples, edges[:-1]) / 32768.0
    t0 = (track.start_ms - origin_ms) / 1000.0
    times = t0 + edges[:-1] / samples.size * span_ms / 1000.0
    xs: list[float] = []
    ys: list[float] = []
    for t, lo, hi in zip(times.tolist(), lows.tolist(), highs.tolist(), strict=True):
        xs += [t, t]
        ys += [lo, hi]
    return xs, ys


_LABEL_CHARS = 36
"""Transcript labels are cut to this many characters on the chart (the hover has them all)."""


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _s(ms: float, origin_ms: float) -> float:
    return round((ms - origin_ms) / 1000.0, 3)


def render_call_html(record: CallRecord) -> str:  # noqa: C901 (one block per kind of mark)
    """The self-contained ``call.html`` for ``record`` (plotly.js inlined, no network).

    Returns:
        The HTML document.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    origin = record.origin_ms
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.25, 0.25, 0.5],
        subplot_titles=("caller", "agent (what the caller heard)", "transcript and latency"),
    )
    for row, tracks, colour, name in (
        (1, record.caller_audio, "#1e88e5", "caller audio"),
        (2, record.agent_audio, "#43a047", "agent audio"),
    ):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for track in tracks:
            tx, ty = _envelope(track, origin)
            xs += [*tx, None]
            ys += [*ty, None]
        fig.add_trace(
            go.Scattergl(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": colour, "width": 1},
                name=name,
                meta={"kind": "waveform"},
                hoverinfo="skip",
            ),
            row=row,
            col=1,
        )
        fig.update_yaxes(range=[-1, 1], showticklabels=False, row=row, col=1)

    summary: dict[str, Any] = {
        "call_id": record.call_id,
        "turns": 0,
        "transcript_lines": 0,
        "barge_ins": 0,
        "stop_audio": len(record.stop_audio_ms),
        "tool_calls": 0,
        "handoffs": 0,
    }
    lines_x: list[float] = []
    lines_y: list[str] = []
    lines_text: list[str] = []
    lines_label: list[str] = []
    turn_index = 0
    for entry in record.transcript:
        kind = entry.get("kind")
        data = entry.get("data") or {}
        at = _s(float(entry.get("at_ms", origin)), origin)
        if kind in ("user", "assistant"):
            who = "caller" if kind == "user" else (entry.get("agent") or "agent")
            cut = " [interrupted]" if entry.get("interrupted") else ""
            lines_x.append(at)
            lines_y.append("caller said" if kind == "user" else "agent said")
            lines_text.append(f"{who}: {entry.get('text', '')}{cut}")
            lines_label.append(_short(str(entry.get("text", "")), _LABEL_CHARS) + cut)
            summary["transcript_lines"] += 1
        elif kind == "turn_latency" and "barge_in_reaction" in data:
            marks = data.get("marks") or {}
            onset = marks.get("onset")
            stop = marks.get("stop_audio")
            if isinstance(onset, int | float) and isinstance(stop, int | float):
                summary["barge_ins"] += 1
                fig.add_trace(
                    go.Scatter(
                        x=[_s(onset, origin), _s(stop, origin)],
                        y=["barge-in", "barge-in"],
                        mode="lines+markers",
                        line={"color": "#e53935", "width": 6},
                        name=f"barge-in {data['barge_in_reaction']:.0f} ms",
                        meta={"kind": "barge_in"},
                        showlegend=False,
                        hovertext=f"barge-in reaction {data['barge_in_reaction']:.0f} ms",
                    ),
                    row=3,
                    col=1,
                )
        elif kind == "turn_latency":
            marks = data.get("marks") or {}
            turn_index += 1
            label = f"turn {turn_index}"
            for begin, end, stage, colour in STAGES:
                a, b = marks.get(begin), marks.get(end)
                if not isinstance(a, int | float) or not isinstance(b, int | float):
                    continue
                fig.add_trace(
                    go.Bar(
                        x=[max(0.0, (b - a) / 1000.0)],
                        base=[_s(a, origin)],
                        y=[label],
                        orientation="h",
                        marker={"color": colour},
                        name=stage,
                        legendgroup=stage,
                        showlegend=turn_index == 1,
                        meta={"kind": "latency", "turn": turn_index},
                        hovertext=f"{label}: {stage} {b - a:.0f} ms",
                        hoverinfo="text",
                    ),
                    row=3,
                    col=1,
                )
            summary["turns"] = turn_index
        elif kind == "tool":
            summary["tool_calls"] += 1
            name = data.get("name") or data.get("tool") or "tool"
            fig.add_trace(
                go.Scatter(
                    x=[at],
                    y=["tools, handoffs"],
                    mode="markers+text",
                    text=[str(name)],
                    textposition="top center",
                    marker={"symbol": "diamond", "size": 12, "color": "#fb8c00"},
                    name=f"tool {name}",
                    meta={"kind": "tool"},
                    showlegend=False,
                ),
                row=3,
                col=1,
            )
        elif kind == "event" and data.get("event") == "handoff":
            summary["handoffs"] += 1
            fig.add_trace(
                go.Scatter(
                    x=[at],
                    y=["tools, handoffs"],
                    mode="markers+text",
                    text=[f"-> {data.get('to')}"],
                    textposition="top center",
                    marker={"symbol": "triangle-right", "size": 14, "color": "#6d4c41"},
                    name="handoff",
                    meta={"kind": "handoff"},
                    showlegend=False,
                ),
                row=3,
                col=1,
            )
    if lines_x:
        fig.add_trace(
            go.Scatter(
                x=lines_x,
                y=lines_y,
                mode="markers+text",
                text=lines_label,
                hovertext=lines_text,
                hoverinfo="text",
                textposition="middle right",
                marker={"size": 8, "color": "#546e7a"},
                name="transcript",
                meta={"kind": "transcript"},
                showlegend=False,
            ),
            row=3,
            col=1,
        )
    for stop in record.stop_audio_ms:
        x = _s(stop, origin)
        for row in (1, 2, 3):
            fig.add_vline(x=x, line={"color": "#e53935", "dash": "dot", "width": 1}, row=row, col=1)
    if record.stop_audio_ms:
        fig.add_trace(
            go.Scatter(
                x=[_s(s, origin) for s in record.stop_audio_ms],
                y=["StopAudio"] * len(record.stop_audio_ms),
                mode="markers",
                marker={"symbol": "x", "size": 10, "color": "#e53935"},
                name="StopAudio",
                meta={"kind": "stop_audio"},
                showlegend=False,
            ),
            row=3,
            col=1,
        )
    fig.update_layout(
        title=f"call {record.call_id}",
        barmode="overlay",
        height=900,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.08},
        margin={"l": 110, "r": 20, "t": 60, "b": 60},
    )
    fig.update_xaxes(title_text="seconds from the start of the call's audio", row=3, col=1)
    # Bottom to top: markers, then the turns in order, then what was said, then StopAudio.
    lanes = [
        "tools, handoffs",
        "barge-in",
        *[f"turn {i}" for i in range(turn_index, 0, -1)],
        "agent said",
        "caller said",
        "StopAudio",
    ]
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=lanes, row=3, col=1)
    page: str = fig.to_html(full_html=True, include_plotlyjs=True, div_id="call")
    blob = json.dumps(summary).replace("</", "<\\/")
    tag = f'<script id="call-summary" type="application/json">{blob}</script>'
    return page.replace("</body>", tag + "\n</body>", 1)
