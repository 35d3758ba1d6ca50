"""Rows <-> call-history values, and the statements both SQL adapters share.

Placeholders differ (``?`` for sqlite3, ``%s`` for psycopg), so statements are written with
``?`` and :func:`sql` rewrites them for PostgreSQL. JSON columns travel as text on SQLite and
as ``jsonb`` (psycopg's ``Jsonb`` in, Python values out) on PostgreSQL; :func:`json_in`
accepts both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from adapters.sql.schema import Dialect
from ports import JsonObject
from ports.call_history import (
    CallHeader,
    CallQuery,
    PostCallSummary,
    RecordingRef,
    RecordLine,
)

HEADER_COLUMNS: Final = (
    "call_id, started_at_ms, channel, caller, callee, agents, outcome, end_reason, ended_at_ms,"
    " duration_ms, user_turns, agent_turns, barge_ins, correlation_id, instance_id"
)
LINE_COLUMNS: Final = "seq, kind, text, offset_ms, agent, interrupted, data"
RECORDING_COLUMNS: Final = (
    "kind, recording_id, state, location, format, duration_ms, server_call_id, data, updated_at_ms"
)

UPSERT_CALL: Final = (
    f"INSERT INTO calls ({HEADER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (call_id) DO UPDATE SET started_at_ms = excluded.started_at_ms,"
    " channel = excluded.channel, caller = excluded.caller, callee = excluded.callee,"
    " agents = excluded.agents, outcome = excluded.outcome, end_reason = excluded.end_reason,"
    " ended_at_ms = excluded.ended_at_ms, duration_ms = excluded.duration_ms,"
    " user_turns = excluded.user_turns, agent_turns = excluded.agent_turns,"
    " barge_ins = excluded.barge_ins, correlation_id = excluded.correlation_id,"
    " instance_id = excluded.instance_id"
)
INSERT_LINE: Final = (
    f"INSERT INTO call_lines (call_id, {LINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (call_id, seq) DO NOTHING"
)
UPSERT_RECORDING: Final = (
    f"INSERT INTO call_recordings (call_id, {RECORDING_COLUMNS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (call_id, kind, recording_id) DO UPDATE SET state = excluded.state,"
    " location = excluded.location, format = excluded.format,"
    " duration_ms = excluded.duration_ms, server_call_id = excluded.server_call_id,"
    " data = excluded.data, updated_at_ms = excluded.updated_at_ms"
)
UPDATE_SUMMARY: Final = "UPDATE calls SET summary = ? WHERE call_id = ?"
SELECT_CALL: Final = f"SELECT {HEADER_COLUMNS}, summary FROM calls WHERE call_id = ?"
SELECT_LINES: Final = f"SELECT {LINE_COLUMNS} FROM call_lines WHERE call_id = ? ORDER BY seq"
SELECT_RECORDINGS: Final = (
    f"SELECT {RECORDING_COLUMNS} FROM call_recordings WHERE call_id = ? ORDER BY kind, recording_id"
)
SELECT_RECORDING_BY_SERVER_CALL: Final = (
    f"SELECT {RECORDING_COLUMNS}, call_id FROM call_recordings WHERE server_call_id = ?"
    " ORDER BY updated_at_ms DESC LIMIT 1"
)
SELECT_OLDEST_BEFORE: Final = (
    "SELECT call_id FROM calls WHERE started_at_ms < ? ORDER BY started_at_ms, call_id LIMIT ?"
)
DELETE_STATEMENTS: Final = (
    "DELETE FROM call_lines WHERE call_id = ?",
    "DELETE FROM call_recordings WHERE call_id = ?",
    "DELETE FROM calls WHERE call_id = ?",
)


def sql(statement: str, dialect: Dialect) -> str:
    """``statement`` with the dialect's placeholders (``?`` -> ``%s`` for PostgreSQL)."""
    return statement if dialect == "sqlite" else statement.replace("?", "%s")


def json_in(value: Any) -> Any:
    """A JSON column's value: text (SQLite) is parsed, a decoded value (jsonb) is kept."""
    if value is None:
        return None
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def json_text(value: Any) -> str:
    """Compact JSON text of ``value`` (UTF-8 kept as is)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def header_params(header: CallHeader, agents: Any) -> tuple[Any, ...]:
    """Parameters of :data:`UPSERT_CALL`; ``agents`` is the dialect's JSON value."""
    return (
        header.call_id,
        header.started_at_ms,
        header.channel,
        header.caller,
        header.callee,
        agents,
        header.outcome,
        header.end_reason,
        header.ended_at_ms,
        header.duration_ms,
        header.user_turns,
        header.agent_turns,
        header.barge_ins,
        header.correlation_id,
        header.instance_id,
    )


def header_from(row: Sequence[Any]) -> CallHeader:
    """A header from the :data:`HEADER_COLUMNS` of a row."""
    return CallHeader(
        call_id=str(row[0]),
        started_at_ms=int(row[1]),
        channel=str(row[2]),
        caller=str(row[3]),
        callee=str(row[4]),
        agents=tuple(str(a) for a in json_in(row[5]) or ()),
        outcome=str(row[6]),
        end_reason=str(row[7]),
        ended_at_ms=None if row[8] is None else int(row[8]),
        duration_ms=float(row[9]),
        user_turns=int(row[10]),
        agent_turns=int(row[11]),
        barge_ins=int(row[12]),
        correlation_id=str(row[13]),
        instance_id=str(row[14]),
    )


def line_params(call_id: str, line: RecordLine, data: Any) -> tuple[Any, ...]:
    """Parameters of :data:`INSERT_LINE`; ``data`` is the dialect's JSON value."""
    return (
        call_id,
        line.seq,
        line.kind,
        line.text,
        line.offset_ms,
        line.agent,
        line.interrupted,
        data,
    )


def line_from(row: Sequence[Any]) -> RecordLine:
    """A line from the :data:`LINE_COLUMNS` of a row."""
    data: JsonObject = json_in(row[6]) or {}
    return RecordLine(
        seq=int(row[0]),
        kind=str(row[1]),
        text=str(row[2]),
        offset_ms=float(row[3]),
        agent=None if row[4] is None else str(row[4]),
        interrupted=bool(row[5]),
        data=data,
    )


def recording_params(call_id: str, rec: RecordingRef, data: Any) -> tuple[Any, ...]:
    """Parameters of :data:`UPSERT_RECORDING`; ``data`` is the dialect's JSON value."""
    return (
        call_id,
        rec.kind,
        rec.recording_id,
        rec.state,
        rec.location,
        rec.format,
        rec.duration_ms,
        rec.server_call_id,
        data,
        rec.updated_at_ms,
    )


def recording_from(row: Sequence[Any]) -> RecordingRef:
    """A recording from the :data:`RECORDING_COLUMNS` of a row."""
    data: JsonObject = json_in(row[7]) or {}
    return RecordingRef(
        kind=str(row[0]),
        recording_id=str(row[1]),
        state=str(row[2]),
        location=str(row[3]),
        format=str(row[4]),
        duration_ms=float(row[5]),
        server_call_id=str(row[6]),
        data=data,
        updated_at_ms=int(row[8]),
    )


def summary_json(summary: PostCallSummary) -> JsonObject:
    """The summary as the JSON object stored in ``calls.summary``."""
    return {
        "status": summary.status,
        "text": summary.text,
        "disposition": summary.disposition,
        "fields": summary.fields,
        "source": summary.source,
        "attempts": summary.attempts,
        "error": summary.error,
        "updated_at_ms": summary.updated_at_ms,
    }


def summary_from(value: Any) -> PostCallSummary | None:
    """The summary stored in ``calls.summary`` (None when there is none)."""
    data = json_in(value)
    if not isinstance(data, dict):
        return None
    fields = data.get("fields")
    return PostCallSummary(
        status=str(data.get("status", "")),
        text=str(data.get("text", "")),
        disposition=str(data.get("disposition", "")),
        fields=fields if isinstance(fields, dict) else {},
        source=str(data.get("source", "")),
        attempts=int(data.get("attempts") or 0),
        error=str(data.get("error", "")),
        updated_at_ms=int(data.get("updated_at_ms") or 0),
    )


def find_sql(query: CallQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    """The ``SELECT`` of :meth:`ports.CallHistory.find` for ``query`` and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    if query.started_from_ms is not None:
        where.append("started_at_ms >= ?")
        params.append(query.started_from_ms)
    if query.started_before_ms is not None:
        where.append("started_at_ms < ?")
        params.append(query.started_before_ms)
    if query.outcome is not None:
        where.append("outcome = ?")
        params.append(query.outcome)
    if query.caller is not None:
        where.append("caller = ?")
        params.append(query.caller)
    if query.agent is not None:
        if dialect == "sqlite":
            where.append("EXISTS (SELECT 1 FROM json_each(calls.agents) WHERE value = ?)")
            params.append(query.agent)
        else:
            # jsonb containment: the agents array contains this one name.
            where.append("agents @> ?::jsonb")
            params.append(json_text([query.agent]))
    statement = f"SELECT {HEADER_COLUMNS} FROM calls"
    if where:
        statement += " WHERE " + " AND ".join(where)
    statement += " ORDER BY started_at_ms DESC, call_id DESC LIMIT ? OFFSET ?"
    params.extend([query.limit, query.offset])
    return sql(statement, dialect), params
