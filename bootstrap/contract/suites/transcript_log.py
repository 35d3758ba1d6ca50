"""Contract of ports.TranscriptLog: append order, per-call logs, TTL, trimming, errors.

The suite is :class:`TranscriptLogContract`; subclass it in a test module and define the
``log_case`` fixture returning a :class:`~bootstrap.contract.cases.TranscriptLogCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import TranscriptLogCase
from bootstrap.contract.suite import ContractSuite
from ports import StoreError, TranscriptEntry


def entry(n: int, kind: str = "user") -> TranscriptEntry:
    return TranscriptEntry(kind=kind, text=f"line {n}", at_ms=float(n) * 10.5)


class TranscriptLogContract(ContractSuite):
    """The promises of :class:`ports.TranscriptLog`; needs a ``log_case`` fixture."""

    port = "transcript_log"
    protocol = "ports.TranscriptLog"
    case_fixture = "log_case"

    async def test_unknown_call_reads_empty(self, log_case: TranscriptLogCase) -> None:
        assert await log_case.log.read("never-written") == []

    async def test_entries_read_back_in_append_order(self, log_case: TranscriptLogCase) -> None:
        log = log_case.log
        for n in range(10):
            await log.append("c1", entry(n))
        assert [e.text for e in await log.read("c1")] == [f"line {n}" for n in range(10)]

    async def test_every_field_round_trips(self, log_case: TranscriptLogCase) -> None:
        full = TranscriptEntry(
            kind="turn_latency",
            text="héllo ☎",
            at_ms=1234.5,
            agent="billing",
            interrupted=True,
            data={"time_to_first_token": 412.25, "stages": [1, 2], "note": None, "ok": True},
        )
        await log_case.log.append("c1", full)
        assert await log_case.log.read("c1") == [full]

    async def test_concurrent_appends_of_different_calls_stay_apart(
        self,
        log_case: TranscriptLogCase,
    ) -> None:
        log = log_case.log

        async def write(call_id: str) -> None:
            for n in range(20):
                await log.append(call_id, entry(n, kind=call_id))

        await asyncio.gather(write("a"), write("b"))
        for call_id in ("a", "b"):
            entries = await log.read(call_id)
            assert [e.text for e in entries] == [f"line {n}" for n in range(20)]
            assert {e.kind for e in entries} == {call_id}

    async def test_log_expires_after_its_ttl(self, log_case: TranscriptLogCase) -> None:
        log = log_case.log
        await log.append("c1", entry(1))
        await log_case.advance(log_case.ttl_ms * 0.5)
        assert len(await log.read("c1")) == 1
        await log_case.advance(log_case.ttl_ms * 0.5 + max(50.0, log_case.ttl_ms * 0.2))
        assert await log.read("c1") == []

    async def test_each_append_refreshes_the_ttl(self, log_case: TranscriptLogCase) -> None:
        log = log_case.log
        for n in range(3):
            await log.append("c1", entry(n))
            await log_case.advance(log_case.ttl_ms * 0.6)
        assert [e.text for e in await log.read("c1")] == ["line 0", "line 1", "line 2"]

    async def test_a_bounded_log_keeps_the_newest_entries(
        self, log_case: TranscriptLogCase
    ) -> None:
        if log_case.max_entries is None:
            pytest.skip("this implementation documents no maximum length")
        limit = log_case.max_entries
        for n in range(limit + 5):
            await log_case.log.append("c1", entry(n))
        entries = await log_case.log.read("c1")
        assert [e.text for e in entries] == [f"line {n}" for n in range(5, limit + 5)]

    async def test_backend_failures_raise_store_errors(self, log_case: TranscriptLogCase) -> None:
        assert log_case.failures, "an implementation must show how it fails"
        for failing in log_case.failures:
            assert issubclass(failing.expected, StoreError)
            with pytest.raises(failing.expected):
                await failing.adapter.append("c1", entry(1))
            with pytest.raises(failing.expected):
                await failing.adapter.read("c1")
