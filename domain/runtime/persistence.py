"""Writes behind the call: the ordered transcript writer and the debounced session saver.

Both run in their own task, so nothing on the audio path ever awaits a store. Store failures
are counted (``CallMetrics.provider_error``) and logged, never raised into the call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from domain.runtime.errors import error_code
from domain.runtime.tasks import TaskOwner
from ports import (
    CallMetrics,
    Clock,
    JsonObject,
    SessionStore,
    StoreError,
    TranscriptEntry,
    TranscriptLog,
    VersionConflictError,
)

logger = logging.getLogger(__name__)


class TranscriptWriter:
    """Appends a call's transcript entries in order, from one task.

    Args:
        log: The transcript log.
        call_id: The call.
        metrics: Gets ``provider_error("transcript_log", code)`` per failed append.
        timeout_ms: Deadline of one append.
    """

    def __init__(
        self, log: TranscriptLog, call_id: str, metrics: CallMetrics, timeout_ms: float
    ) -> None:
        self._log = log
        self._call_id = call_id
        self._metrics = metrics
        self._timeout_s = timeout_ms / 1000.0
        self._queue: asyncio.Queue[TranscriptEntry | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self, tasks: TaskOwner) -> None:
        """Start the writer task."""
        self._task = tasks.spawn(self._run(), "transcripts")

    def append(self, entry: TranscriptEntry) -> None:
        """Queue ``entry``; it is written after every entry queued before it."""
        if not self._closed:
            self._queue.put_nowait(entry)

    async def close(self, timeout_s: float) -> None:
        """Write what is queued (for at most ``timeout_s``) and stop."""
        self._closed = True
        self._queue.put_nowait(None)
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=timeout_s)

    async def _run(self) -> None:
        while True:
            entry = await self._queue.get()
            if entry is None:
                return
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._log.append(self._call_id, entry)
            except Exception as exc:  # noqa: BLE001 (a lost line must not end the call)
                logger.warning("call %s: transcript append failed: %r", self._call_id, exc)
                self._metrics.provider_error(
                    "transcript_log", error_code(exc, fallback="store_error")
                )


class SessionSaver:
    """Debounced compare-and-set saves of a call's session state.

    Save requests within ``debounce_ms`` merge into one write of the latest state. A version
    conflict (another writer) is resolved by re-reading the stored version and writing again.

    Args:
        store: The session store.
        call_id: The call.
        state: Returns the current serialised state (called at write time, off the audio path).
        clock: Time source of the debounce.
        metrics: Gets ``provider_error("session_store", code)`` per failed save.
        debounce_ms: Merge window, ms.
        timeout_ms: Deadline of one store command.
    """

    def __init__(
        self,
        store: SessionStore,
        call_id: str,
        state: Callable[[], JsonObject],
        *,
        clock: Clock,
        metrics: CallMetrics,
        debounce_ms: float,
        timeout_ms: float,
    ) -> None:
        self._store = store
        self._call_id = call_id
        self._state = state
        self._clock = clock
        self._metrics = metrics
        self._debounce_ms = debounce_ms
        self._timeout_s = timeout_ms / 1000.0
        self._wanted = asyncio.Event()
        self._requested = 0
        self._saved = 0
        self._version: int | None = None

    def start(self, tasks: TaskOwner) -> None:
        """Start the saver task."""
        tasks.spawn(self._run(), "saver")

    def request(self) -> None:
        """Ask for a save of the state as it will be when the debounce window closes."""
        self._requested += 1
        self._wanted.set()

    async def flush(self) -> None:
        """Save now if a requested save has not been written (call end)."""
        if self._saved != self._requested:
            await self._save()

    async def _run(self) -> None:
        while True:
            await self._wanted.wait()
            await self._clock.sleep(self._debounce_ms)
            self._wanted.clear()
            await self._save()

    async def _save(self) -> None:
        requested = self._requested
        store = self._store
        try:
            data = self._state()
            for _ in range(2):
                try:
                    async with asyncio.timeout(self._timeout_s):
                        self._version = await store.put(
                            self._call_id, data, expected_version=self._version
                        )
                    self._saved = max(self._saved, requested)
                    return
                except VersionConflictError as exc:
                    async with asyncio.timeout(self._timeout_s):
                        stored = await store.get(self._call_id)
                    self._version = stored.version if stored is not None else exc.actual
            raise StoreError("session version kept changing")
        except Exception as exc:  # noqa: BLE001 (a failed save must not end the call)
            logger.warning("call %s: session save failed: %r", self._call_id, exc)
            self._metrics.provider_error("session_store", error_code(exc, fallback="store_error"))
