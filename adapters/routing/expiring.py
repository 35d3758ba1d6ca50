"""Bounded maps and sets whose members expire: the one expire-oldest loop of the adapters.

Used for the router's "ended here recently" memory, the ACS gateway's Event Grid dedupe and
calls being answered, and the call tokens bound to their calls.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlMap(Generic[V]):
    """A bounded map of strings to values whose entries expire, oldest first.

    Entries are kept in insertion order (putting a key again moves it to the end with a fresh
    deadline), so expiring is popping from the front while the oldest is due or the map is over
    its bound. Expired entries are never returned, whether or not they were purged yet.

    Args:
        ttl_s: How long an entry is kept, seconds (``math.inf``: only the bound applies).
        max_size: Most entries; the oldest go first.
        clock: Monotonic seconds.
        on_evict: Called with each entry that expires or is pushed out by the bound (not with
            those taken out by :meth:`pop`).
    """

    def __init__(
        self,
        *,
        ttl_s: float,
        max_size: int,
        clock: Callable[[], float] = time.monotonic,
        on_evict: Callable[[str, V], None] | None = None,
    ) -> None:
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._clock = clock
        self._on_evict = on_evict

    def expire(self) -> None:
        """Drop every entry that is due, then the oldest while over the bound."""
        now = self._clock()
        while self._items:
            key, (deadline, value) = next(iter(self._items.items()))
            if deadline > now and len(self._items) <= self._max_size:
                break
            del self._items[key]
            if self._on_evict is not None:
                self._on_evict(key, value)

    def put(self, key: str, value: V) -> None:
        """Keep ``value`` under ``key`` for a full ``ttl_s`` from now (moved to the end)."""
        self._items.pop(key, None)
        self._items[key] = (self._clock() + self._ttl_s, value)
        self.expire()

    def get(self, key: str) -> V | None:
        """The value under ``key``, or None when absent or expired."""
        item = self._items.get(key)
        if item is None or item[0] <= self._clock():
            return None
        return item[1]

    def pop(self, key: str) -> V | None:
        """Take ``key`` out (no eviction callback); its value, or None."""
        item = self._items.pop(key, None)
        return None if item is None else item[1]

    def items(self) -> list[tuple[str, V]]:
        """The live entries, oldest first (a copy: the map may change while it is read)."""
        now = self._clock()
        return [(k, v) for k, (deadline, v) in self._items.items() if deadline > now]

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held and not yet expired."""
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        """The live keys, oldest first."""
        return iter([k for k, _ in self.items()])

    def __len__(self) -> int:
        return len(self._items)


class TtlSet:
    """A bounded set of strings whose members expire, oldest first (a :class:`TtlMap`).

    Args:
        ttl_s: How long a member is remembered, seconds.
        max_size: Most members; the oldest go first.
        clock: Monotonic seconds.
    """

    def __init__(
        self, *, ttl_s: float, max_size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._map: TtlMap[bool] = TtlMap(ttl_s=ttl_s, max_size=max_size, clock=clock)

    def add(self, key: str) -> bool:
        """Remember ``key``; False when it was already there (a duplicate)."""
        self._map.expire()
        if key in self._map:
            return False
        self._map.put(key, True)
        return True

    def refresh(self, key: str) -> None:
        """Remember ``key`` for a full ``ttl_s`` from now, whether or not it was there."""
        self._map.put(key, True)

    def discard(self, key: str) -> None:
        """Forget ``key`` (so a redelivery is handled again)."""
        self._map.pop(key)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is remembered and not yet expired."""
        return key in self._map

    def __len__(self) -> int:
        return len(self._map)
