"""Memory stores: session state, transcripts and call ownership, with TTL on a Clock.

Each store keeps its records in the instance (no module state) and expires them by the
``Clock`` it is given, so a test moves a :class:`~adapters.memory.ManualClock` past the TTL
instead of sleeping. Values are copied through JSON on the way in and out, so a caller can
neither mutate a stored record nor store something Redis could not.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from ports import (
    Clock,
    JsonObject,
    StoredSession,
    StoreError,
    TranscriptEntry,
    VersionConflictError,
)

_T = TypeVar("_T")
_PURGE_EVERY = 256


def _copy(value: JsonObject) -> JsonObject:
    copied: JsonObject = json.loads(json.dumps(value))
    return copied


@dataclass(slots=True)
class _Record(Generic[_T]):
    value: _T
    expires_at_ms: float


class _Expiring(Generic[_T]):
    """Records that vanish ``ttl_ms`` after their last write."""

    def __init__(self, clock: Clock, ttl_ms: float) -> None:
        if ttl_ms <= 0:
            raise ValueError(f"ttl_ms must be positive, got {ttl_ms}")
        self.clock = clock
        self.ttl_ms = ttl_ms
        self._records: dict[str, _Record[_T]] = {}
        self._writes = 0

    def get(self, key: str) -> _T | None:
        record = self._records.get(key)
        if record is None:
            return None
        if record.expires_at_ms <= self.clock.now_ms():
            del self._records[key]
            return None
        return record.value

    def set(self, key: str, value: _T) -> None:
        self._records[key] = _Record(value, self.clock.now_ms() + self.ttl_ms)
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            now = self.clock.now_ms()
            for stale in [k for k, r in self._records.items() if r.expires_at_ms <= now]:
                del self._records[stale]

    def delete(self, key: str) -> None:
        self._records.pop(key, None)

    def __len__(self) -> int:
        now = self.clock.now_ms()
        return sum(1 for r in self._records.values() if r.expires_at_ms > now)


class MemorySessionStore:
    """A :class:`ports.SessionStore` in a dict, with compare-and-set versions and TTL.

    Args:
        clock: Time source of the TTL.
        ttl_ms: Lifetime of a record after its last write, ms (default one hour).
        fail_with: While set, every operation raises it (e.g. ``StoreUnavailableError()``),
            to exercise error paths.

    Raises:
        ValueError: ``ttl_ms`` is not positive.
    """

    def __init__(
        self, clock: Clock, ttl_ms: float = 3_600_000, *, fail_with: StoreError | None = None
    ) -> None:
        self._records: _Expiring[StoredSession] = _Expiring(clock, ttl_ms)
        self.fail_with = fail_with

    def __len__(self) -> int:
        return len(self._records)

    async def get(self, call_id: str) -> StoredSession | None:
        """The latest state, or ``None`` when never stored, deleted or expired."""
        self._check()
        stored = self._records.get(call_id)
        return None if stored is None else replace(stored, state=_copy(stored.state))

    async def put(self, call_id: str, state: JsonObject, *, expected_version: int | None) -> int:
        """Write ``state`` if the stored version is ``expected_version``; return the new one.

        Raises:
            VersionConflictError: The stored version (``None`` when absent) differs.
            TypeError: ``state`` is not JSON-serialisable.
        """
        self._check()
        current = self._records.get(call_id)
        actual = None if current is None else current.version
        if actual != expected_version:
            raise VersionConflictError(
                f"session {call_id!r} is at version {actual}, not {expected_version}",
                expected=expected_version,
                actual=actual,
            )
        version = (actual or 0) + 1
        self._records.set(call_id, StoredSession(call_id, version, _copy(state)))
        return version

    async def delete(self, call_id: str) -> None:
        """Remove the record; idempotent."""
        self._check()
        self._records.delete(call_id)

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with


class MemoryTranscriptLog:
    """A :class:`ports.TranscriptLog` in a dict of bounded deques, with TTL per call.

    Args:
        clock: Time source of the TTL.
        ttl_ms: Lifetime of a call's log after its last append, ms (default one day).
        max_entries: Entries kept per call; the oldest are trimmed beyond it.
        fail_with: While set, every operation raises it.

    Raises:
        ValueError: ``ttl_ms`` or ``max_entries`` is not positive.
    """

    def __init__(
        self,
        clock: Clock,
        ttl_ms: float = 86_400_000,
        *,
        max_entries: int = 10_000,
        fail_with: StoreError | None = None,
    ) -> None:
        if max_entries <= 0:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        self._logs: _Expiring[deque[TranscriptEntry]] = _Expiring(clock, ttl_ms)
        self.max_entries = max_entries
        self.fail_with = fail_with

    async def append(self, call_id: str, entry: TranscriptEntry) -> None:
        """Append ``entry`` and refresh the call's TTL.

        Raises:
            TypeError: ``entry.data`` is not JSON-serialisable.
        """
        self._check()
        log = self._logs.get(call_id)
        if log is None:
            log = deque(maxlen=self.max_entries)
        log.append(replace(entry, data=_copy(entry.data)))
        self._logs.set(call_id, log)

    async def read(self, call_id: str) -> list[TranscriptEntry]:
        """All live entries of the call in append order (empty when none or expired)."""
        self._check()
        log = self._logs.get(call_id)
        return [] if log is None else [replace(e, data=_copy(e.data)) for e in log]

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with


class MemoryCallRegistry:
    """A :class:`ports.CallRegistry` in a dict; a claim lives ``ttl_ms`` after its last refresh.

    A claim by another instance replaces the current one (last writer wins, like Redis
    ``SET ... PX``); ``release`` only removes the claim of the instance that holds it.

    Args:
        clock: Time source of the TTL.
        ttl_ms: Claim lifetime, ms (default 30 s; owners heartbeat well within it).
        fail_with: While set, every operation raises it.

    Raises:
        ValueError: ``ttl_ms`` is not positive.
    """

    def __init__(
        self, clock: Clock, ttl_ms: float = 30_000, *, fail_with: StoreError | None = None
    ) -> None:
        self._claims: _Expiring[str] = _Expiring(clock, ttl_ms)
        self.fail_with = fail_with

    async def claim(self, call_id: str, instance_id: str) -> None:
        """Record (or refresh) ``instance_id`` as the call's owner."""
        self._check()
        self._claims.set(call_id, instance_id)

    async def owner(self, call_id: str) -> str | None:
        """The owning instance id, or ``None`` when released or expired."""
        self._check()
        return self._claims.get(call_id)

    async def release(self, call_id: str, instance_id: str) -> None:
        """Drop the claim if ``instance_id`` holds it; idempotent."""
        self._check()
        if self._claims.get(call_id) == instance_id:
            self._claims.delete(call_id)

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with
