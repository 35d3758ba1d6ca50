"""Write-behind wrappers: a store outage never blocks or fails a live call.

Writes return at once; a drain task owned by the wrapper persists them in order, retrying
with exponential backoff (tenacity) while the store is down. When the store returns, the
latest session state of every call and every queued transcript line are written.

Transcript retries are idempotent when the store offers ``append_once(call_id, entry, token)``
(Redis does): each queued entry carries a unique token, so an append whose reply was lost
(timeout, connection cut after the server applied it) is not stored twice.

Bounds: at most ``max_pending`` transcript entries wait; past that, new entries are refused,
logged and counted in :attr:`WriteBehindTranscriptLog.overflowed` (the only case where anything
is lost). Session states never overflow: only the latest per call is kept.

Lifecycle: ``start()`` starts the drain task (bootstrap calls it from a Resource), ``aclose()``
flushes what it can within ``flush_timeout_s`` and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from functools import partial

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from adapters.resilience.retry import run_retrying
from ports import (
    JsonObject,
    SessionStore,
    StoredSession,
    StoreError,
    TranscriptEntry,
    TranscriptLog,
    VersionConflictError,
)

logger = logging.getLogger(__name__)


def _retrying(max_backoff_s: float) -> AsyncRetrying:
    """The template of a store write's retry: built once per wrapper, copied per write."""
    # Retry store failures forever (until aclose cancels): an outage ends when it ends.
    return AsyncRetrying(
        retry=retry_if_exception_type(StoreError),
        wait=wait_exponential(multiplier=0.05, max=max_backoff_s),
        reraise=True,
    )


class WriteBehindTranscriptLog:
    """A :class:`ports.TranscriptLog` whose appends never wait for the backing store.

    Args:
        inner: The real log (Redis).
        max_pending: Entries that may wait while the store is down.
        max_backoff_s: Longest wait between retries, seconds.
    """

    def __init__(
        self, inner: TranscriptLog, *, max_pending: int = 10_000, max_backoff_s: float = 2.0
    ) -> None:
        self._inner = inner
        self._max = max_pending
        self._retrying = _retrying(max_backoff_s)
        self._pending: deque[tuple[str, TranscriptEntry, str]] = deque()
        # Unique per entry: a store offering ``append_once`` skips a retried entry it stored.
        self._tokens = (f"{uuid.uuid4().hex}:{n}" for n in itertools.count())
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.overflowed = 0
        """Entries refused because the queue was full (lost)."""

    @property
    def depth(self) -> int:
        """Entries waiting to be written."""
        return len(self._pending)

    def start(self) -> None:
        """Start the drain task (needs a running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="transcript-write-behind")

    async def append(self, call_id: str, entry: TranscriptEntry) -> None:
        """Queue ``entry``; returns at once. Overflow is logged and counted, never raised."""
        if len(self._pending) >= self._max:
            self.overflowed += 1
            logger.error(
                "transcript write-behind queue full (%d); dropped an entry of call %s",
                self._max,
                call_id,
            )
            return
        self._pending.append((call_id, entry, next(self._tokens)))
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self.start()

    async def read(self, call_id: str) -> list[TranscriptEntry]:
        """Stored entries followed by those still queued, in append order.

        Raises:
            StoreError: The backing store failed.
        """
        stored = await self._inner.read(call_id)
        return stored + [entry for cid, entry, _token in self._pending if cid == call_id]

    async def _drain(self) -> None:
        while True:
            while not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            call_id, entry, token = self._pending[0]
            append_once = getattr(self._inner, "append_once", None)
            if append_once is not None:
                await run_retrying(self._retrying, partial(append_once, call_id, entry, token))
            else:
                await run_retrying(self._retrying, partial(self._inner.append, call_id, entry))
            # Only now: a failed write keeps its place at the head, so order is kept.
            self._pending.popleft()

    async def aclose(self, flush_timeout_s: float = 2.0) -> None:
        """Flush within ``flush_timeout_s`` seconds, then stop. Idempotent."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(flush_timeout_s):
                await self._idle.wait()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._pending:
            logger.error("closing with %d transcript entries unwritten", len(self._pending))


@dataclass(slots=True)
class _CallState:
    local_version: int
    state: JsonObject
    remote_version: int | None
    dirty: bool = True


class WriteBehindSessionStore:
    """A :class:`ports.SessionStore` whose writes never wait for the backing store.

    The instance that owns a call is its only writer, so compare-and-set is checked against
    the versions this wrapper hands out; the drain writes the latest state to the store with
    the store's own version, and on a conflict re-reads it and writes again (owner wins).

    Args:
        inner: The real store (Redis).
        max_backoff_s: Longest wait between retries, seconds.
    """

    def __init__(self, inner: SessionStore, *, max_backoff_s: float = 2.0) -> None:
        self._inner = inner
        self._retrying = _retrying(max_backoff_s)
        self._calls: dict[str, _CallState] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    @property
    def depth(self) -> int:
        """Calls whose latest state is not yet written."""
        return sum(1 for c in self._calls.values() if c.dirty)

    def start(self) -> None:
        """Start the drain task (needs a running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="session-write-behind")

    async def get(self, call_id: str) -> StoredSession | None:
        """The latest state known here, else the store's.

        Raises:
            StoreError: Not known here and the store failed.
        """
        known = self._calls.get(call_id)
        if known is not None:
            return StoredSession(call_id, known.local_version, known.state)
        return await self._inner.get(call_id)

    async def put(self, call_id: str, state: JsonObject, *, expected_version: int | None) -> int:
        """Accept the write if ``expected_version`` is current; persistence follows.

        Raises:
            VersionConflictError: ``expected_version`` is stale.
            StoreError: First write of a call that already exists and the store failed.
        """
        known = self._calls.get(call_id)
        if known is None:
            # First write here: adopt the store's version if the record exists already.
            remote = await self._safe_remote(call_id)
            current = remote.version if remote is not None else None
            if current != expected_version:
                raise VersionConflictError(
                    f"session {call_id}", expected=expected_version, actual=current
                )
            known = _CallState(current or 0, state, current)
            self._calls[call_id] = known
        elif known.local_version != expected_version:
            raise VersionConflictError(
                f"session {call_id}", expected=expected_version, actual=known.local_version
            )
        known.local_version += 1
        known.state = state
        known.dirty = True
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self.start()
        return known.local_version

    async def _safe_remote(self, call_id: str) -> StoredSession | None:
        try:
            return await self._inner.get(call_id)
        except StoreError:
            # Store down on a new call: start from nothing; the drain reconciles later.
            return None

    async def delete(self, call_id: str) -> None:
        """Forget the call here and in the store.

        Raises:
            StoreError: The store failed.
        """
        self._calls.pop(call_id, None)
        await self._inner.delete(call_id)

    async def _drain(self) -> None:
        while True:
            dirty = [cid for cid, c in self._calls.items() if c.dirty]
            if not dirty:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            for call_id in dirty:
                known = self._calls.get(call_id)
                if known is None:
                    continue
                await run_retrying(self._retrying, partial(self._write, call_id, known))

    async def _write(self, call_id: str, known: _CallState) -> None:
        state = known.state
        try:
            version = await self._inner.put(call_id, state, expected_version=known.remote_version)
        except VersionConflictError as exc:
            known.remote_version = exc.actual
            version = await self._inner.put(call_id, state, expected_version=exc.actual)
        known.remote_version = version
        # A newer state may have arrived while awaiting; keep it dirty in that case.
        known.dirty = known.state is not state

    def forget(self, call_id: str) -> None:
        """Drop a finished call's cached state once written (keeps memory bounded)."""
        known = self._calls.get(call_id)
        if known is not None and not known.dirty:
            del self._calls[call_id]

    async def aclose(self, flush_timeout_s: float = 2.0) -> None:
        """Flush within ``flush_timeout_s`` seconds, then stop. Idempotent."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(flush_timeout_s):
                await self._idle.wait()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
