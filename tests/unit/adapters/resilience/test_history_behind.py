"""The call history's write-behind: writes never wait, survive an outage, stay bounded."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.memory.call_history import MemoryCallHistory
from adapters.resilience import WriteBehindCallHistory
from ports import StoreUnavailableError
from ports.call_history import CallHeader, PostCallSummary, RecordingRef, RecordLine

T0 = 1_760_000_000_000


def lines(*seqs: int) -> list[RecordLine]:
    return [RecordLine(seq, "user", f"line {seq}") for seq in seqs]


async def test_writes_return_at_once_while_the_store_is_down_and_land_when_it_returns() -> None:
    store = MemoryCallHistory(fail_with=StoreUnavailableError("down"))
    behind = WriteBehindCallHistory(store, max_backoff_s=0.02)
    async with asyncio.timeout(0.5):  # nothing here may wait for the store
        await behind.save_call(CallHeader("c1", T0))
        await behind.append_lines("c1", lines(0, 1))
        await behind.save_recording("c1", RecordingRef("wav", "c1.wav", "available", "/d"))
        await behind.save_summary("c1", PostCallSummary("pending"))
        await behind.append_lines("c1", lines(2))
    assert not await behind.flush(timeout_s=0.2)
    assert behind.depth == 6
    store.fail_with = None
    assert await behind.flush(timeout_s=5)
    record = await store.get("c1")
    assert record is not None
    assert [line.seq for line in record.lines] == [0, 1, 2]
    assert len(record.recordings) == 1 and record.summary is not None
    await behind.aclose()


async def test_lines_beyond_the_bound_are_dropped_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryCallHistory(fail_with=StoreUnavailableError("down"))
    behind = WriteBehindCallHistory(store, max_pending=3, max_backoff_s=0.02)
    await behind.save_call(CallHeader("c1", T0))
    with caplog.at_level(logging.ERROR):
        await behind.append_lines("c1", lines(0, 1))
        await behind.append_lines("c1", lines(2, 3, 4))
    assert behind.overflowed == 2
    assert "queue full" in caplog.text and "c1" in caplog.text
    store.fail_with = None
    assert await behind.flush(timeout_s=5)
    record = await store.get("c1")
    assert record is not None and [line.seq for line in record.lines] == [0, 1, 2]
    await behind.aclose()


async def test_only_the_latest_header_of_a_call_is_written() -> None:
    store = MemoryCallHistory(fail_with=StoreUnavailableError("down"))
    behind = WriteBehindCallHistory(store, max_backoff_s=0.02)
    await behind.save_call(CallHeader("c1", T0))
    await behind.save_call(CallHeader("c1", T0, outcome="resolved"))
    assert behind.depth == 1
    store.fail_with = None
    assert await behind.flush(timeout_s=5)
    record = await store.get("c1")
    assert record is not None and record.header.outcome == "resolved"
    await behind.aclose()


async def test_a_live_calls_queued_writes_are_visible_to_readers() -> None:
    store = MemoryCallHistory()
    behind = WriteBehindCallHistory(store)
    await store.save_call(CallHeader("c1", T0))
    await store.append_lines("c1", lines(0))
    store.fail_with = StoreUnavailableError("down for writes")
    await behind.append_lines("c1", lines(1))
    rec = RecordingRef("acs", "r1", "active", server_call_id="s1")
    await behind.save_recording("c1", rec)
    store.fail_with = None
    # Read before the drain has run: the queued line and recording are laid over the store's.
    record = await behind.get("c1")
    assert record is not None and [line.seq for line in record.lines] == [0, 1]
    assert await behind.find_recording("s1") == ("c1", rec)
    await behind.aclose()


async def test_deleting_a_call_drops_its_queued_writes() -> None:
    store = MemoryCallHistory(fail_with=StoreUnavailableError("down"))
    behind = WriteBehindCallHistory(store, max_backoff_s=0.02)
    await behind.save_call(CallHeader("c1", T0))
    await behind.append_lines("c1", lines(0))
    await behind.save_call(CallHeader("c2", T0))
    store.fail_with = None
    deleted = await behind.delete("c1")
    assert deleted is not None and deleted.call_id == "c1"
    assert await behind.flush(timeout_s=5)
    assert await store.get("c1") is None
    assert await store.get("c2") is not None
    await behind.aclose()


async def test_the_probe_names_an_unreachable_store() -> None:
    behind = WriteBehindCallHistory(MemoryCallHistory(fail_with=StoreUnavailableError("down")))
    with pytest.raises(StoreUnavailableError):
        await behind.health_check()
