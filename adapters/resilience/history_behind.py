"""Write-behind for the call history: a database outage never blocks or fails a live call.

Every write returns at once; one drain task owned by the wrapper writes, in batches, what is
queued, retrying with exponential backoff (tenacity) while the database is down:

* transcript lines wait in one FIFO bounded by ``max_pending``; past it a new line is refused,
  logged and counted in :attr:`WriteBehindCallHistory.overflowed` (the only loss). A batch takes
  up to ``batch_max`` lines from the head and writes them, whatever their calls, in one
  transaction;
  the store skips a ``seq`` it has, so a batch retried after a lost reply is not doubled.
* headers, recordings and summaries keep only their latest value per key (they cannot
  overflow): a newer value written while an older one is being written stays queued.

Reads go to the store, with what is still queued laid over them (``get``, ``find_recording``),
so an operator sees a live call's latest lines. ``delete`` drops the call's queued writes
first, so a deleted call does not come back.

Lifecycle: ``start()`` starts the drain task (bootstrap calls it from a Resource), ``flush()``
waits until everything queued is written, ``aclose()`` flushes within ``flush_timeout_s`` and
stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from adapters.resilience.retry import run_retrying
from ports import HealthCheck, StoreError
from ports.call_history import (
    CallHeader,
    CallHistory,
    CallQuery,
    CallRecord,
    DeletedCall,
    PostCallSummary,
    RecordingRef,
    RecordLine,
)

logger = logging.getLogger(__name__)

_RecordingKey = tuple[str, str, str]


def _retrying(max_backoff_s: float) -> AsyncRetrying:
    """The template of a store write's retry: built once per wrapper, copied per write."""
    # Retry store failures until aclose() cancels: an outage ends when it ends.
    return AsyncRetrying(
        retry=retry_if_exception_type(StoreError),
        wait=wait_exponential(multiplier=0.05, max=max_backoff_s),
        reraise=True,
    )


class WriteBehindCallHistory:
    """A :class:`ports.CallHistory` whose writes never wait for the database.

    Args:
        inner: The real store (SQLite, PostgreSQL).
        max_pending: Transcript lines that may wait; beyond, new lines are dropped and counted.
        batch_max: Most lines written in one drain step.
        max_backoff_s: Longest wait between retries, seconds.
    """

    def __init__(
        self,
        inner: CallHistory,
        *,
        max_pending: int = 10_000,
        batch_max: int = 500,
        max_backoff_s: float = 2.0,
    ) -> None:
        self._inner = inner
        self._max = max_pending
        self._batch_max = batch_max
        self._retrying = _retrying(max_backoff_s)
        self._lines: deque[tuple[str, RecordLine]] = deque()
        self._headers: dict[str, CallHeader] = {}
        self._recordings: dict[_RecordingKey, RecordingRef] = {}
        self._summaries: dict[str, PostCallSummary] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.overflowed = 0
        """Transcript lines refused because the queue was full (lost)."""
        self.written = 0
        """Writes that reached the store (batches of lines count once per call)."""

    @property
    def inner(self) -> CallHistory:
        """The wrapped store."""
        return self._inner

    @property
    def depth(self) -> int:
        """Writes waiting: lines, plus headers, recordings and summaries not yet written."""
        return len(self._lines) + len(self._headers) + len(self._recordings) + len(self._summaries)

    def start(self) -> None:
        """Start the drain task (needs a running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="call-history-write-behind")

    def _queued(self) -> None:
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self.start()

    # ------------------------------------------------------------------ writes (never wait)

    async def save_call(self, header: CallHeader) -> None:
        """Queue the header (replacing a queued older one); returns at once."""
        self._headers[header.call_id] = header
        self._queued()

    async def append_lines(self, call_id: str, lines: Sequence[RecordLine]) -> None:
        """Queue ``lines``; the ones beyond ``max_pending`` are dropped, logged and counted."""
        room = self._max - len(self._lines)
        if room < len(lines):
            lost = len(lines) - max(room, 0)
            self.overflowed += lost
            logger.error(
                "call history write-behind queue full (%d lines): dropped %d line(s) of call %s",
                self._max,
                lost,
                call_id,
            )
            lines = lines[: max(room, 0)]
        self._lines.extend((call_id, line) for line in lines)
        if lines:
            self._queued()

    async def save_recording(self, call_id: str, recording: RecordingRef) -> None:
        """Queue the recording (replacing a queued older value of the same key)."""
        self._recordings[(call_id, recording.kind, recording.recording_id)] = recording
        self._queued()

    async def append_batch(self, lines: Sequence[tuple[str, RecordLine]]) -> None:
        """Queue lines of several calls (as :meth:`append_lines`, bounded the same way)."""
        for call_id, line in lines:
            await self.append_lines(call_id, (line,))

    async def save_summary(self, call_id: str, summary: PostCallSummary) -> None:
        """Queue the summary (replacing a queued older one)."""
        self._summaries[call_id] = summary
        self._queued()

    # ------------------------------------------------------------------ reads

    async def get(self, call_id: str) -> CallRecord | None:
        """The stored record with the queued writes of the call laid over it.

        Raises:
            StoreError: The store failed.
        """
        stored = await self._inner.get(call_id)
        header = self._headers.get(call_id) or (stored.header if stored else None)
        if header is None:
            return None
        lines = {line.seq: line for line in (stored.lines if stored else ())}
        for cid, line in self._lines:
            if cid == call_id:
                lines.setdefault(line.seq, line)
        recordings = {(r.kind, r.recording_id): r for r in (stored.recordings if stored else ())}
        for (cid, kind, rid), rec in self._recordings.items():
            if cid == call_id:
                recordings[(kind, rid)] = rec
        summary = self._summaries.get(call_id) or (stored.summary if stored else None)
        return CallRecord(
            header=header,
            lines=tuple(lines[seq] for seq in sorted(lines)),
            recordings=tuple(recordings[key] for key in sorted(recordings)),
            summary=summary,
        )

    async def find_recording(self, server_call_id: str) -> tuple[str, RecordingRef] | None:
        """A queued recording on ``server_call_id``, else the store's.

        Raises:
            StoreError: Not queued and the store failed.
        """
        queued = [
            (rec.updated_at_ms, cid, rec)
            for (cid, _, _), rec in self._recordings.items()
            if server_call_id and rec.server_call_id == server_call_id
        ]
        if queued:
            _, call_id, rec = max(queued, key=lambda item: item[0])
            return call_id, rec
        return await self._inner.find_recording(server_call_id)

    async def find(self, query: CallQuery) -> list[CallHeader]:
        """Stored headers (a queued newer header of a listed call replaces it).

        Raises:
            StoreError: The store failed.
        """
        found = await self._inner.find(query)
        return [self._headers.get(h.call_id, h) for h in found]

    # ------------------------------------------------------------------ deletes (wait)

    def _forget(self, call_ids: set[str]) -> None:
        self._lines = deque((cid, line) for cid, line in self._lines if cid not in call_ids)
        for cid in call_ids:
            self._headers.pop(cid, None)
            self._summaries.pop(cid, None)
        for key in [k for k in self._recordings if k[0] in call_ids]:
            del self._recordings[key]

    async def delete(self, call_id: str) -> DeletedCall | None:
        """Drop the call's queued writes, then delete it in the store.

        Raises:
            StoreError: The store failed.
        """
        queued = tuple(r for (cid, _, _), r in self._recordings.items() if cid == call_id)
        had_header = call_id in self._headers
        self._forget({call_id})
        deleted = await self._inner.delete(call_id)
        if deleted is None and had_header:
            return DeletedCall(call_id, queued)
        if deleted is not None and queued:
            known = {(r.kind, r.recording_id) for r in deleted.recordings}
            extra = tuple(r for r in queued if (r.kind, r.recording_id) not in known)
            return replace(deleted, recordings=deleted.recordings + extra)
        return deleted

    async def delete_started_before(self, cutoff_ms: int, *, limit: int = 500) -> list[DeletedCall]:
        """Delete old calls in the store (and any writes of theirs still queued).

        Raises:
            StoreError: The store failed.
        """
        deleted = await self._inner.delete_started_before(cutoff_ms, limit=limit)
        self._forget({d.call_id for d in deleted})
        return deleted

    async def health_check(self) -> None:
        """The store's own probe (a cheap read when it has none).

        Raises:
            StoreError: The store is not reachable.
        """
        if isinstance(self._inner, HealthCheck):
            await self._inner.health_check()
        else:
            await self._inner.get("parley:ready-probe")

    # ------------------------------------------------------------------ the drain

    async def _drain(self) -> None:
        while True:
            if not self.depth:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            await run_retrying(self._retrying, self._write_once)

    async def _write_once(self) -> None:
        inner = self._inner
        for call_id, header in list(self._headers.items()):
            await inner.save_call(header)
            self.written += 1
            if self._headers.get(call_id) is header:
                del self._headers[call_id]
        batch = [self._lines[i] for i in range(min(self._batch_max, len(self._lines)))]
        if batch:
            # One transaction (one commit) for the lines of every call in the batch.
            await inner.append_batch(batch)
            self.written += 1
            # Only now: a failed batch keeps its place at the head (order and no loss). By
            # identity: a delete() may have rebuilt the queue while the batch was written.
            written = {id(item) for item in batch}
            while self._lines and id(self._lines[0]) in written:
                self._lines.popleft()
        for key, rec in list(self._recordings.items()):
            await inner.save_recording(key[0], rec)
            self.written += 1
            if self._recordings.get(key) is rec:
                del self._recordings[key]
        for call_id, summary in list(self._summaries.items()):
            await inner.save_summary(call_id, summary)
            self.written += 1
            if self._summaries.get(call_id) is summary:
                del self._summaries[call_id]

    async def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything queued is written; False when ``timeout_s`` passed first."""
        if self.depth and self._task is None:
            self.start()
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def aclose(self, flush_timeout_s: float = 2.0) -> None:
        """Flush within ``flush_timeout_s`` seconds, then stop. Idempotent."""
        if self._task is None:
            return
        await self.flush(flush_timeout_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self.depth:
            logger.error("call history: closing with %d write(s) unwritten", self.depth)
