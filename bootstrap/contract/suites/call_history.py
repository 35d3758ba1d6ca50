"""Contract of ports.CallHistory: headers, lines, recordings, summaries, queries, deletion.

Lines are ordered by seq and idempotent; deletion is by id and by age; errors are port errors.

The suite is :class:`CallHistoryContract`; subclass it in a test module and define the
``history_case`` fixture returning a :class:`~bootstrap.contract.cases.CallHistoryCase` whose
store is open and empty (Parley's own cases: memory, SQLite in a temporary file, PostgreSQL
on a real server that ``tests/`` starts).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from bootstrap.contract.cases import CallHistoryCase
from bootstrap.contract.suite import ContractSuite
from ports import StoreError
from ports.call_history import (
    CallHeader,
    CallQuery,
    PostCallSummary,
    RecordingRef,
    RecordLine,
)

T0 = 1_760_000_000_000
"""A Unix epoch ms start time."""


def header(call_id: str = "c1", **changes: Any) -> CallHeader:
    """A header of call ``call_id`` started at :data:`T0`, with ``changes`` applied."""
    base = CallHeader(
        call_id=call_id,
        started_at_ms=T0,
        channel="acs",
        caller="+14255550100",
        callee="+14255550199",
        agents=("concierge",),
        correlation_id="corr-1",
        instance_id="i-1",
    )
    return replace(base, **changes)


def line(seq: int, kind: str = "user", text: str = "", **changes: Any) -> RecordLine:
    """Line ``seq`` (``seq * 100`` ms into the call), with ``changes`` applied."""
    return replace(RecordLine(seq, kind, text or f"line {seq}", offset_ms=seq * 100.0), **changes)


class CallHistoryContract(ContractSuite):
    """The promises of :class:`ports.call_history.CallHistory`; needs a ``history_case``."""

    port = "call_history"
    protocol = "ports.call_history.CallHistory"
    case_fixture = "history_case"

    async def test_an_unknown_call_has_no_record(self, history_case: CallHistoryCase) -> None:
        assert await history_case.history.get("never-saved") is None

    async def test_a_saved_header_reads_back_equal(self, history_case: CallHistoryCase) -> None:
        ended = header(
            agents=("concierge", "fraud"),
            outcome="transferred",
            end_reason="transfer",
            ended_at_ms=T0 + 61_000,
            duration_ms=60_500.5,
            user_turns=3,
            agent_turns=4,
            barge_ins=1,
        )
        await history_case.history.save_call(ended)
        record = await history_case.history.get("c1")
        assert record is not None
        assert record.header == ended
        assert record.lines == () and record.recordings == () and record.summary is None

    async def test_saving_the_header_again_replaces_it_and_keeps_the_rest(
        self,
        history_case: CallHistoryCase,
    ) -> None:
        history = history_case.history
        await history.save_call(header())
        await history.append_lines("c1", [line(0)])
        await history.save_summary("c1", PostCallSummary("done", "s", "resolved"))
        await history.save_recording("c1", RecordingRef("wav", "c1.wav", "available", "/x"))
        await history.save_call(header(outcome="resolved", ended_at_ms=T0 + 5))
        record = await history.get("c1")
        assert record is not None
        assert (record.header.outcome, record.header.ended_at_ms) == ("resolved", T0 + 5)
        assert len(record.lines) == 1 and len(record.recordings) == 1
        assert record.summary is not None and record.summary.text == "s"

    async def test_lines_come_back_in_seq_order_with_their_fields(
        self, history_case: CallHistoryCase
    ) -> None:
        history = history_case.history
        await history.save_call(header())
        tool = line(
            2,
            "tool",
            "balance: 1,234.56 €",
            agent="concierge",
            data={"name": "check_balance", "args": {"account": "savings"}, "ok": True, "n": None},
        )
        cut = line(1, "assistant", "Thank you for call", interrupted=True, agent="concierge")
        await history.append_lines("c1", [tool, line(0, text="héllo ☎ \"quoted\" 'x'")])
        await history.append_lines(
            "c1", [cut, line(3, "turn_latency", data={"voice_to_voice": 812.4})]
        )
        record = await history.get("c1")
        assert record is not None
        assert [entry.seq for entry in record.lines] == [0, 1, 2, 3]
        assert record.lines[0].text == "héllo ☎ \"quoted\" 'x'"
        assert record.lines[1] == cut
        assert record.lines[2] == tool
        assert record.lines_of("turn_latency")[0].data == {"voice_to_voice": 812.4}

    async def test_a_retried_batch_is_not_stored_twice(self, history_case: CallHistoryCase) -> None:
        history = history_case.history
        await history.save_call(header())
        batch = [line(0), line(1)]
        await history.append_lines("c1", batch)
        await history.append_lines("c1", [*batch, line(2)])
        record = await history.get("c1")
        assert record is not None
        assert [entry.seq for entry in record.lines] == [0, 1, 2]

    async def test_lines_written_before_the_header_show_once_it_is_saved(
        self,
        history_case: CallHistoryCase,
    ) -> None:
        history = history_case.history
        await history.append_lines("c1", [line(0)])
        assert await history.get("c1") is None
        await history.save_call(header())
        record = await history.get("c1")
        assert record is not None and [entry.text for entry in record.lines] == ["line 0"]

    async def test_calls_keep_their_own_lines_when_written_concurrently(
        self,
        history_case: CallHistoryCase,
    ) -> None:
        history = history_case.history
        ids = [f"call-{i}" for i in range(4)]
        await asyncio.gather(*(history.save_call(header(i)) for i in ids))
        await asyncio.gather(
            *(history.append_lines(i, [line(n, text=f"{i}/{n}") for n in range(5)]) for i in ids)
        )
        for i in ids:
            record = await history.get(i)
            assert record is not None
            assert [entry.text for entry in record.lines] == [f"{i}/{n}" for n in range(5)]

    async def test_a_recording_is_replaced_by_kind_and_id_and_found_by_server_call(
        self,
        history_case: CallHistoryCase,
    ) -> None:
        history = history_case.history
        await history.save_call(header())
        requested = RecordingRef("acs", "rec-1", "requested", updated_at_ms=T0)
        await history.save_recording("c1", requested)
        await history.save_recording("c1", RecordingRef("wav", "c1.wav", "available", "/d/c1.wav"))
        available = replace(
            requested,
            state="available",
            location="https://acs.example/recording/content",
            format="wav",
            duration_ms=61_000.0,
            server_call_id="server-1",
            data={"deleteLocation": "https://acs.example/recording/delete"},
            updated_at_ms=T0 + 90_000,
        )
        await history.save_recording("c1", available)
        record = await history.get("c1")
        assert record is not None
        assert [(r.kind, r.recording_id) for r in record.recordings] == [
            ("acs", "rec-1"),
            ("wav", "c1.wav"),
        ]
        assert record.recordings[0] == available
        assert await history.find_recording("server-1") == ("c1", available)
        assert await history.find_recording("server-unknown") is None

    async def test_the_summary_is_replaced_as_the_job_progresses(
        self, history_case: CallHistoryCase
    ) -> None:
        history = history_case.history
        await history.save_call(header())
        await history.save_summary("c1", PostCallSummary("pending", attempts=1))
        done = PostCallSummary(
            "done",
            "The caller asked for the balance.",
            "resolved",
            {"intent": "check_balance", "resolved": True, "amount": None},
            "template",
            2,
            "",
            T0 + 3000,
        )
        await history.save_summary("c1", done)
        record = await history.get("c1")
        assert record is not None and record.summary == done

    async def test_find_returns_newest_first_and_filters(
        self, history_case: CallHistoryCase
    ) -> None:
        history = history_case.history
        calls = [
            header("a", started_at_ms=T0, outcome="resolved", agents=("concierge",)),
            header(
                "b", started_at_ms=T0 + 1000, outcome="transferred", agents=("concierge", "fraud")
            ),
            header("c", started_at_ms=T0 + 2000, outcome="abandoned", caller="+1999"),
            header("d", started_at_ms=T0 + 2000, outcome="resolved", agents=("fraud",)),
        ]
        for call in calls:
            await history.save_call(call)

        async def ids(**query: object) -> list[str]:
            return [h.call_id for h in await history.find(CallQuery(**query))]  # type: ignore[arg-type]

        assert await ids() == ["d", "c", "b", "a"]
        assert await ids(limit=2) == ["d", "c"]
        assert await ids(limit=2, offset=2) == ["b", "a"]
        assert await ids(started_from_ms=T0 + 1000, started_before_ms=T0 + 2000) == ["b"]
        assert await ids(agent="fraud") == ["d", "b"]
        assert await ids(agent="fra") == []
        assert await ids(outcome="resolved") == ["d", "a"]
        assert await ids(caller="+1999") == ["c"]
        assert await ids(outcome="resolved", agent="concierge") == ["a"]
        found = await history.find(CallQuery(outcome="transferred"))
        assert found == [calls[1]]

    async def test_delete_removes_everything_and_returns_the_recordings(
        self,
        history_case: CallHistoryCase,
    ) -> None:
        history = history_case.history
        wav = RecordingRef("wav", "c1.wav", "available", "/d/c1.wav")
        await history.save_call(header())
        await history.append_lines("c1", [line(0)])
        await history.save_recording("c1", wav)
        deleted = await history.delete("c1")
        assert deleted is not None and deleted.call_id == "c1" and deleted.recordings == (wav,)
        assert await history.get("c1") is None
        assert await history.find(CallQuery()) == []
        assert await history.delete("c1") is None
        # Nothing of the old call comes back with a new header of the same id.
        await history.save_call(header())
        record = await history.get("c1")
        assert record is not None and record.lines == () and record.recordings == ()

    async def test_delete_started_before_removes_the_oldest_calls_up_to_the_limit(
        self,
        history_case: CallHistoryCase,
    ) -> None:
        history = history_case.history
        for n in range(5):
            await history.save_call(header(f"c{n}", started_at_ms=T0 + n * 1000))
            await history.append_lines(f"c{n}", [line(0)])
        deleted = await history.delete_started_before(T0 + 3000, limit=2)
        assert [d.call_id for d in deleted] == ["c0", "c1"]
        deleted = await history.delete_started_before(T0 + 3000, limit=10)
        assert [d.call_id for d in deleted] == ["c2"]
        assert [h.call_id for h in await history.find(CallQuery())] == ["c4", "c3"]
        assert await history.delete_started_before(T0, limit=10) == []

    async def test_every_operation_of_a_failing_store_raises_a_port_error(
        self,
        history_case: CallHistoryCase,
    ) -> None:
        assert history_case.failures, "an implementation must show how it fails"
        for failing in history_case.failures:
            store = failing.adapter
            operations = [
                store.save_call(header()),
                store.append_lines("c1", [line(0)]),
                store.append_batch([("c1", line(0))]),
                store.save_recording("c1", RecordingRef("wav", "x", "available")),
                store.find_recording("server-1"),
                store.save_summary("c1", PostCallSummary("done")),
                store.get("c1"),
                store.find(CallQuery()),
                store.delete("c1"),
                store.delete_started_before(T0),
            ]
            for operation in operations:
                with pytest.raises(failing.expected) as caught:
                    await operation
                assert isinstance(caught.value, StoreError), failing.label

    async def test_a_batch_of_several_calls_lines_is_stored_once_each(
        self, history_case: CallHistoryCase
    ) -> None:
        history = history_case.history
        await history.save_call(header("a"))
        await history.save_call(header("b"))
        batch = [("a", line(0)), ("b", line(0, text="b0")), ("a", line(1))]
        await history.append_batch(batch)
        await history.append_batch(batch)  # a retried batch
        a = await history.get("a")
        b = await history.get("b")
        assert a is not None and [entry.seq for entry in a.lines] == [0, 1]
        assert b is not None and [entry.text for entry in b.lines] == ["b0"]
