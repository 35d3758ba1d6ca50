"""A bounded set whose members expire: the one expire-oldest loop of the routing code.

Used for the router's "ended here recently" memory and the ACS gateway's Event Grid dedupe.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class TtlSet:
    """A bounded set of strings whose members expire, oldest first.

    Members are kept in insertion order (re-adding a member moves it to the end), so expiring
    is popping from the front while the oldest is due or the set is over its bound.

    Args:
        ttl_s: How long a member is remembered, seconds.
        max_size: Most members; the oldest go first.
        clock: Monotonic seconds.
    """

    def __init__(
        self, *, ttl_s: float, max_size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._items: OrderedDict[str, float] = OrderedDict()
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._clock = clock

    def _expire(self, now: float) -> None:
        while self._items:
            key, deadline = next(iter(self._items.items()))
            if deadline > now and len(self._items) <= self._max_size:
                break
            del self._items[key]

    def add(self, key: str) -> bool:
        """Remember ``key``; False when it was already there (a duplicate)."""
        now = self._clock()
        self._expire(now)
        if key in self._items:
            return False
        self._items[key] = now + self._ttl_s
        self._expire(now)
        return True

    def refresh(self, key: str) -> None:
        """Remember ``key`` for a full ``ttl_s`` from now, whether or not it was there."""
        self._items.pop(key, None)
        self.add(key)

    def discard(self, key: str) -> None:
        """Forget ``key`` (so a redelivery is handled again)."""
        self._items.pop(key, None)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is remembered and not yet expired."""
        if not isinstance(key, str):
            return False
        deadline = self._items.get(key)
        return deadline is not None and deadline > self._clock()

    def __len__(self) -> int:
        return len(self._items)
