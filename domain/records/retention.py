"""Retention and erasure of call records: by age (a periodic job) and by call id (on request).

:class:`RecordsKeeper` deletes whole records (header, lines, recordings, summary) and then
the recording files they referenced (Parley's WAV files; ACS recordings at ACS), so nothing of
a deleted call stays behind. :meth:`RecordsKeeper.run` repeats, every ``interval_ms``:

* delete calls started more than ``retention_days`` ago (0 keeps everything), in batches;
* mark calls still ``in_progress`` after ``stale_after_ms`` (their instance died mid-call)
  as ``failed`` with end reason ``"lost"``, unless they are running here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from ports import Clock
from ports.call_history import (
    CallHistory,
    CallOutcome,
    CallQuery,
    DeletedCall,
    RecordingRef,
)

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000

MediaDeleter = Callable[[RecordingRef], Awaitable[None]]
"""Deletes a recording's file (by its ``kind``)."""


class RecordsKeeper:
    """Deletes expired and requested records with their media; fixes records of lost calls.

    Args:
        history: The call history.
        clock: Sleeps between runs.
        wall_ms: Unix epoch milliseconds now.
        delete_media: Deletes one recording's file; failures are logged, never raised.
        retention_days: Age after which a call is deleted (0: never).
        interval_ms: Time between runs of :meth:`run`.
        stale_after_ms: Age after which an ``in_progress`` call is marked lost (0: never).
        is_live: Whether a call is running in this process (never marked lost).
        batch: Calls deleted per database transaction.
    """

    def __init__(
        self,
        history: CallHistory,
        *,
        clock: Clock,
        wall_ms: Callable[[], float],
        delete_media: MediaDeleter | None = None,
        retention_days: float = 0.0,
        interval_ms: float = 3_600_000.0,
        stale_after_ms: float = 6 * 3_600_000.0,
        is_live: Callable[[str], bool] = lambda _call_id: False,
        batch: int = 500,
    ) -> None:
        self._history = history
        self._clock = clock
        self._wall_ms = wall_ms
        self._delete_media = delete_media
        self._retention_ms = retention_days * DAY_MS
        self._interval_ms = interval_ms
        self._stale_ms = stale_after_ms
        self._is_live = is_live
        self._batch = batch
        self.deleted = 0
        """Calls deleted so far (by age or by request)."""

    async def _media(self, gone: DeletedCall) -> None:
        if self._delete_media is None:
            return
        for recording in gone.recordings:
            try:
                await self._delete_media(recording)
            except Exception as exc:  # noqa: BLE001 (logged; the next file is tried)
                logger.warning(
                    "call %s: recording %s not deleted: %r", gone.call_id, recording.kind, exc
                )

    async def erase(self, call_id: str) -> DeletedCall | None:
        """Delete one call's record and recordings (a data-protection request).

        Raises:
            StoreError: The database failed (nothing was deleted).
        """
        gone = await self._history.delete(call_id)
        if gone is not None:
            self.deleted += 1
            await self._media(gone)
            logger.info("call %s: record erased", call_id)
        return gone

    async def expire(self) -> int:
        """Delete every call older than the retention period; returns how many.

        Raises:
            StoreError: The database failed.
        """
        if self._retention_ms <= 0:
            return 0
        cutoff = int(self._wall_ms() - self._retention_ms)
        total = 0
        while True:
            deleted = await self._history.delete_started_before(cutoff, limit=self._batch)
            for gone in deleted:
                await self._media(gone)
            total += len(deleted)
            if len(deleted) < self._batch:
                break
        self.deleted += total
        if total:
            logger.info("retention: deleted %d call record(s) older than the cutoff", total)
        return total

    async def mark_lost(self) -> int:
        """Mark ``in_progress`` calls older than ``stale_after_ms`` as failed (``"lost"``).

        Raises:
            StoreError: The database failed.
        """
        if self._stale_ms <= 0:
            return 0
        query = CallQuery(
            outcome=CallOutcome.IN_PROGRESS.value,
            started_before_ms=int(self._wall_ms() - self._stale_ms),
            limit=self._batch,
        )
        marked = 0
        for header in await self._history.find(query):
            if self._is_live(header.call_id):
                continue
            await self._history.save_call(
                replace(header, outcome=CallOutcome.FAILED.value, end_reason="lost")
            )
            marked += 1
        return marked

    async def run(self) -> None:
        """Expire and mark lost calls now and every ``interval_ms``, until cancelled."""
        while True:
            try:
                await self.expire()
                await self.mark_lost()
            except Exception as exc:  # noqa: BLE001 (the next run tries again)
                logger.warning("call records retention run failed: %r", exc)
            await self._clock.sleep(self._interval_ms)

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` in a task (the caller owns and cancels it)."""
        return asyncio.get_running_loop().create_task(self.run(), name="call-records-retention")
