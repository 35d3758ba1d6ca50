"""The one expire-oldest implementation: TtlMap (and TtlSet over it)."""

from __future__ import annotations

import math

from adapters.routing.expiring import TtlMap, TtlSet


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestTtlSet:
    def test_members_expire_and_the_set_is_bounded(self) -> None:
        clock = Clock()
        seen = TtlSet(ttl_s=10, max_size=2, clock=clock)
        assert seen.add("a") and not seen.add("a")
        clock.now = 11
        assert "a" not in seen
        assert seen.add("a")
        seen.add("b")
        seen.add("c")
        assert len(seen) == 2 and "a" not in seen

    def test_refresh_restarts_the_lifetime_and_discard_forgets(self) -> None:
        clock = Clock()
        seen = TtlSet(ttl_s=10, max_size=10, clock=clock)
        seen.add("a")
        clock.now = 8
        seen.refresh("a")
        clock.now = 15
        assert "a" in seen
        seen.discard("a")
        assert seen.add("a")


class TestTtlMap:
    def test_an_expired_entry_is_never_returned_even_before_it_is_purged(self) -> None:
        clock = Clock()
        entries: TtlMap[int] = TtlMap(ttl_s=5, max_size=10, clock=clock)
        entries.put("a", 1)
        assert entries.get("a") == 1 and list(entries) == ["a"]
        clock.now = 5
        assert entries.get("a") is None and "a" not in entries
        assert entries.items() == [] and len(entries) == 1  # not purged until the next put

    def test_expired_and_pushed_out_entries_are_handed_to_on_evict_but_popped_ones_are_not(
        self,
    ) -> None:
        clock = Clock()
        evicted: list[tuple[str, int]] = []
        entries: TtlMap[int] = TtlMap(
            ttl_s=5, max_size=2, clock=clock, on_evict=lambda k, v: evicted.append((k, v))
        )
        entries.put("a", 1)
        entries.put("b", 2)
        entries.put("c", 3)  # over the bound: the oldest goes
        assert evicted == [("a", 1)]
        assert entries.pop("b") == 2 and evicted == [("a", 1)]
        clock.now = 6
        entries.put("d", 4)  # "c" is due
        assert evicted == [("a", 1), ("c", 3)]
        assert entries.items() == [("d", 4)]

    def test_putting_a_key_again_moves_it_to_the_end(self) -> None:
        entries: TtlMap[str] = TtlMap(ttl_s=math.inf, max_size=2)
        entries.put("a", "x")
        entries.put("b", "y")
        entries.put("a", "z")
        entries.put("c", "w")
        assert entries.items() == [("a", "z"), ("c", "w")]
