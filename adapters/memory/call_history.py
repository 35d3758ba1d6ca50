"""Memory call history: the ``CallHistory`` port in a dict, for tests and one-process runs.

Values are copied through JSON on the way in, so a caller can neither mutate a stored record
nor store something the SQL adapters could not. ``fail_with`` makes every operation raise the
given port error (the contract suite's failure cases, the write-behind tests).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ports import JsonObject, StoreError
from ports.call_history import (
    CallHeader,
    CallQuery,
    CallRecord,
    DeletedCall,
    PostCallSummary,
    RecordingRef,
    RecordLine,
)


def _copy(value: JsonObject) -> JsonObject:
    copied: JsonObject = json.loads(json.dumps(value))
    return copied


@dataclass(slots=True)
class _Call:
    header: CallHeader | None = None
    lines: dict[int, RecordLine] = field(default_factory=dict)
    recordings: dict[tuple[str, str], RecordingRef] = field(default_factory=dict)
    summary: PostCallSummary | None = None


def matches(header: CallHeader, query: CallQuery) -> bool:
    """Whether ``header`` passes every filter of ``query`` (limit and offset aside)."""
    return (
        (query.started_from_ms is None or header.started_at_ms >= query.started_from_ms)
        and (query.started_before_ms is None or header.started_at_ms < query.started_before_ms)
        and (query.agent is None or query.agent in header.agents)
        and (query.outcome is None or header.outcome == query.outcome)
        and (query.caller is None or header.caller == query.caller)
    )


class MemoryCallHistory:
    """``ports.CallHistory`` in memory (one process; gone when it stops).

    Args:
        fail_with: When set, every operation raises it (a rigged store for failure tests).
    """

    def __init__(self, *, fail_with: StoreError | None = None) -> None:
        self._calls: dict[str, _Call] = {}
        self.fail_with = fail_with
        self.writes = 0
        """Write operations that succeeded (save, append, delete)."""

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def _call(self, call_id: str) -> _Call:
        return self._calls.setdefault(call_id, _Call())

    async def save_call(self, header: CallHeader) -> None:
        """Create or replace the header."""
        self._check()
        self._call(header.call_id).header = header
        self.writes += 1

    async def append_lines(self, call_id: str, lines: Sequence[RecordLine]) -> None:
        """Store lines whose ``seq`` is new."""
        self._check()
        stored = self._call(call_id).lines
        for line in lines:
            if line.seq not in stored:
                stored[line.seq] = replace(line, data=_copy(line.data))
        self.writes += 1

    async def append_batch(self, lines: Sequence[tuple[str, RecordLine]]) -> None:
        """Store new lines of several calls."""
        self._check()
        for call_id, line in lines:
            stored = self._call(call_id).lines
            if line.seq not in stored:
                stored[line.seq] = replace(line, data=_copy(line.data))
        self.writes += 1

    async def save_recording(self, call_id: str, recording: RecordingRef) -> None:
        """Create or replace the recording ``(kind, recording_id)``."""
        self._check()
        key = (recording.kind, recording.recording_id)
        self._call(call_id).recordings[key] = replace(recording, data=_copy(recording.data))
        self.writes += 1

    async def find_recording(self, server_call_id: str) -> tuple[str, RecordingRef] | None:
        """The call and latest recording on ``server_call_id``."""
        self._check()
        found = [
            (rec.updated_at_ms, call_id, rec)
            for call_id, call in self._calls.items()
            for rec in call.recordings.values()
            if server_call_id and rec.server_call_id == server_call_id
        ]
        if not found:
            return None
        _, call_id, rec = max(found, key=lambda item: item[0])
        return call_id, rec

    async def save_summary(self, call_id: str, summary: PostCallSummary) -> None:
        """Create or replace the summary."""
        self._check()
        self._call(call_id).summary = replace(summary, fields=_copy(summary.fields))
        self.writes += 1

    async def get(self, call_id: str) -> CallRecord | None:
        """The record, or None without a header."""
        self._check()
        call = self._calls.get(call_id)
        if call is None or call.header is None:
            return None
        return CallRecord(
            header=call.header,
            lines=tuple(call.lines[seq] for seq in sorted(call.lines)),
            recordings=tuple(call.recordings[key] for key in sorted(call.recordings)),
            summary=call.summary,
        )

    async def find(self, query: CallQuery) -> list[CallHeader]:
        """Matching headers, newest first."""
        self._check()
        headers = [
            c.header
            for c in self._calls.values()
            if c.header is not None and matches(c.header, query)
        ]
        headers.sort(key=lambda h: (h.started_at_ms, h.call_id), reverse=True)
        return headers[query.offset : query.offset + query.limit]

    async def delete(self, call_id: str) -> DeletedCall | None:
        """Remove the call; None when it had no header."""
        self._check()
        call = self._calls.pop(call_id, None)
        self.writes += 1
        if call is None or call.header is None:
            return None
        return DeletedCall(call_id, tuple(call.recordings[k] for k in sorted(call.recordings)))

    async def delete_started_before(self, cutoff_ms: int, *, limit: int = 500) -> list[DeletedCall]:
        """Remove at most ``limit`` calls started before ``cutoff_ms``, oldest first."""
        self._check()
        old = sorted(
            (c.header for c in self._calls.values() if c.header is not None),
            key=lambda h: (h.started_at_ms, h.call_id),
        )
        deleted = []
        for header in old[:limit]:
            if header.started_at_ms >= cutoff_ms:
                break
            gone = await self.delete(header.call_id)
            if gone is not None:
                deleted.append(gone)
        return deleted
