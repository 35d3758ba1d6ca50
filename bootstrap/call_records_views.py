"""Views of a durable call record: ``call.html`` from its lines, flat rows for CSV export."""

from __future__ import annotations

import asyncio
from typing import Any

from bootstrap.call_report import record_from_transcript, render_call_html
from ports.call_history import CallHistory, CallRecord

CSV_COLUMNS = (
    "call_id",
    "started_at",
    "ended_at",
    "channel",
    "caller",
    "callee",
    "agents",
    "outcome",
    "end_reason",
    "duration_s",
    "user_turns",
    "agent_turns",
    "barge_ins",
    "tools",
    "handoffs",
    "voice_to_voice_ms_avg",
    "recordings",
    "summary",
    "disposition",
    "fields",
)
"""Columns of ``parley calls export --format csv``, one row per call."""


async def render_history_call(history: CallHistory, call_id: str) -> str:
    """``call.html`` of a call from its durable record (no waveforms), off the event loop.

    Raises:
        KeyError: No record of ``call_id``.
    """
    record = await history.get(call_id)
    if record is None or not record.lines:
        raise KeyError(call_id)
    rows = [
        {
            "kind": line.kind,
            "text": line.text,
            "at_ms": line.offset_ms,
            "agent": line.agent,
            "interrupted": line.interrupted,
            "data": line.data,
        }
        for line in record.timeline()
    ]
    return await asyncio.to_thread(render_call_html, record_from_transcript(call_id, rows))


def iso_time(ms: int | None) -> str:
    """ISO 8601 UTC time of Unix epoch ``ms`` ("" for None)."""
    if ms is None:
        return ""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000.0, UTC).isoformat(timespec="milliseconds")


def csv_row(record: CallRecord) -> dict[str, Any]:
    """One CSV row of a record (:data:`CSV_COLUMNS`)."""
    import json

    header = record.header
    latencies = [
        float(v)
        for line in record.lines_of("turn_latency")
        if isinstance(v := line.data.get("voice_to_voice"), int | float)
    ]
    summary = record.summary
    return {
        "call_id": header.call_id,
        "started_at": iso_time(header.started_at_ms),
        "ended_at": iso_time(header.ended_at_ms),
        "channel": header.channel,
        "caller": header.caller,
        "callee": header.callee,
        "agents": " ".join(header.agents),
        "outcome": header.outcome,
        "end_reason": header.end_reason,
        "duration_s": round(header.duration_ms / 1000.0, 1),
        "user_turns": header.user_turns,
        "agent_turns": header.agent_turns,
        "barge_ins": header.barge_ins,
        "tools": " ".join(line.text for line in record.lines_of("tool_call")),
        "handoffs": " ".join(str(line.data.get("to", "")) for line in record.handoffs()),
        "voice_to_voice_ms_avg": round(sum(latencies) / len(latencies), 1) if latencies else "",
        "recordings": " ".join(r.location or r.recording_id for r in record.recordings),
        "summary": summary.text if summary else "",
        "disposition": summary.disposition if summary else "",
        "fields": json.dumps(summary.fields, ensure_ascii=False) if summary else "",
    }
