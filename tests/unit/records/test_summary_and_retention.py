"""Post-call summaries (bounded, retried, coerced) and retention (by age, by request, lost)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from adapters.local.summary import TemplateSummarizer
from adapters.memory import ManualClock, ScriptedLanguageModel, ScriptedTurn
from adapters.memory.call_history import MemoryCallHistory
from adapters.system import SystemClock
from domain.records import ModelSummarizer, RecordsConfig, RecordsKeeper, SummaryJobs, parse_answer
from ports import ChatMessage, ModelOptions, ProviderError, ProviderUnavailableError, ToolSpec
from ports.call_history import CallHeader, RecordingRef, RecordLine
from ports.call_summarizer import SummaryField, SummaryRequest, SummaryResult

T0 = 1_760_000_000_000
DAY = 86_400_000
FIELDS = (
    SummaryField("intent", kind="choice", choices=("check_balance", "lock_card", "other")),
    SummaryField("resolved", kind="boolean"),
)
CONFIG = RecordsConfig(
    dispositions=("resolved", "transferred_to_human", "other"),
    fields=FIELDS,
    summary_attempts=3,
    summary_backoff_ms=1.0,
    summary_timeout_ms=200.0,
)
LINES = (
    RecordLine(0, "user", "what is my balance", 100.0, "concierge"),
    RecordLine(1, "tool_call", "check_balance", 120.0, "concierge", data={"name": "check_balance"}),
    RecordLine(2, "assistant", "It is 10 dollars.", 300.0, "concierge"),
)


async def stored_call(history: MemoryCallHistory, call_id: str = "c1", **header: object) -> None:
    values = {
        "started_at_ms": T0,
        "channel": "acs",
        "outcome": "resolved",
        "end_reason": "hang_up",
        "agents": ("concierge",),
    }
    values.update(header)
    await history.save_call(CallHeader(call_id, **values))  # type: ignore[arg-type]
    await history.append_lines(call_id, LINES)


class Flaky:
    """Fails ``failures`` times, then answers; or hangs forever."""

    def __init__(self, failures: int = 0, *, hang: bool = False) -> None:
        self.failures = failures
        self.hang = hang
        self.calls = 0

    async def summarize(self, request: SummaryRequest) -> SummaryResult:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()
        if self.calls <= self.failures:
            raise ProviderUnavailableError("down", port="language_model")
        return SummaryResult("A call.", "not-a-disposition", {"intent": "lock_card", "x": 1})


def jobs(history: MemoryCallHistory, summarizer: object) -> SummaryJobs:
    return SummaryJobs(history, summarizer, CONFIG, clock=SystemClock(), wall_ms=lambda: T0)  # type: ignore[arg-type]


async def test_a_failing_summary_is_retried_and_then_stored_coerced() -> None:
    history = MemoryCallHistory()
    await stored_call(history)
    flaky = Flaky(failures=2)
    summary = await jobs(history, flaky).run("c1")
    assert flaky.calls == 3
    assert summary is not None and summary.status == "done" and summary.attempts == 3
    # Unknown disposition -> the first; unknown fields dropped, missing ones None.
    assert (summary.disposition, summary.fields) == (
        "resolved",
        {"intent": "lock_card", "resolved": None},
    )
    record = await history.get("c1")
    assert record is not None and record.summary == summary


async def test_a_summary_that_never_answers_fails_after_its_tries_with_the_timeout_code() -> None:
    history = MemoryCallHistory()
    await stored_call(history)
    summary = await jobs(history, Flaky(hang=True)).run("c1")
    assert summary is not None
    assert (summary.status, summary.attempts, summary.error) == ("failed", 3, "timeout")


async def test_submitted_jobs_run_off_the_caller_and_can_be_awaited() -> None:
    history = MemoryCallHistory()
    await stored_call(history)
    runner = jobs(history, TemplateSummarizer())
    runner.submit("c1")
    assert runner.running == 1
    assert await runner.join(timeout_s=5)
    record = await history.get("c1")
    assert record is not None and record.summary is not None
    assert record.summary.status == "done" and runner.completed == 1


async def test_the_template_summary_is_deterministic_and_reads_the_record() -> None:
    request = SummaryRequest(
        CallHeader(
            "c1",
            T0,
            "acs",
            agents=("concierge",),
            outcome="transferred",
            end_reason="transfer",
            user_turns=1,
            duration_ms=42_000.0,
        ),
        LINES,
        ("resolved", "transferred_to_human", "other"),
        FIELDS,
    )
    first = await TemplateSummarizer().summarize(request)
    assert first == await TemplateSummarizer().summarize(request)
    assert first.disposition == "transferred_to_human"
    assert first.fields == {"intent": "check_balance", "resolved": False}
    assert "what is my balance" in first.text and "42 s" in first.text


class Answering:
    """A model that answers the summary prompt with ``text``."""

    def __init__(self, text: str) -> None:
        self.model = ScriptedLanguageModel([ScriptedTurn(text)])

    def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec], options: ModelOptions
    ):  # type: ignore[no-untyped-def]
        return self.model.stream(messages, tools, options)


async def test_the_model_summary_parses_json_around_prose_and_sends_the_transcript() -> None:
    answer = (
        'Sure!\n```json\n{"summary": "Balance asked.", "disposition": "resolved",'
        ' "fields": {"resolved": true}}\n```'
    )
    model = Answering(answer)
    request = SummaryRequest(CallHeader("c1", T0), LINES, ("resolved", "other"), FIELDS)
    result = await ModelSummarizer(model, source="gpt").summarize(request)  # type: ignore[arg-type]
    assert (result.text, result.disposition, result.fields, result.source) == (
        "Balance asked.",
        "resolved",
        {"resolved": True},
        "gpt",
    )
    sent = model.model.requests[0].messages
    assert "resolved, other" in sent[0].text and '"intent" (one of check_balance' in sent[0].text
    assert "caller: what is my balance" in sent[1].text
    assert "tool call check_balance" in sent[1].text


def test_an_answer_without_a_summary_object_is_a_provider_error() -> None:
    with pytest.raises(ProviderError):
        parse_answer("I cannot help with that.", "gpt")


async def test_retention_deletes_old_calls_with_their_recordings() -> None:
    history = MemoryCallHistory()
    deleted_media: list[str] = []

    async def delete_media(ref: RecordingRef) -> None:
        deleted_media.append(ref.recording_id)

    await stored_call(history, "old", started_at_ms=T0 - 10 * DAY)
    await history.save_recording("old", RecordingRef("wav", "old.wav", "available", "/x"))
    await stored_call(history, "new")
    keeper = RecordsKeeper(
        history,
        clock=ManualClock(),
        wall_ms=lambda: T0,
        delete_media=delete_media,
        retention_days=7,
        batch=1,
    )
    assert await keeper.expire() == 1
    assert deleted_media == ["old.wav"]
    assert await history.get("old") is None and await history.get("new") is not None
    gone = await keeper.erase("new")
    assert gone is not None and keeper.deleted == 2


async def test_a_call_left_in_progress_by_a_dead_instance_is_marked_lost() -> None:
    history = MemoryCallHistory()
    await stored_call(history, "dead", outcome="in_progress", end_reason="")
    await stored_call(history, "live-here", outcome="in_progress", end_reason="")
    keeper = RecordsKeeper(
        history,
        clock=ManualClock(),
        wall_ms=lambda: T0 + 60_000,
        stale_after_ms=1000.0,
        is_live=lambda call_id: call_id == "live-here",
    )
    assert await keeper.mark_lost() == 1
    dead = await history.get("dead")
    live = await history.get("live-here")
    assert dead is not None and (dead.header.outcome, dead.header.end_reason) == ("failed", "lost")
    assert live is not None and live.header.outcome == "in_progress"


async def test_the_retention_job_keeps_running_when_the_store_fails() -> None:
    from ports import StoreUnavailableError

    history = MemoryCallHistory(fail_with=StoreUnavailableError("down"))
    clock = ManualClock()
    keeper = RecordsKeeper(
        history, clock=clock, wall_ms=lambda: T0, retention_days=1, interval_ms=1000.0
    )
    task = keeper.start()
    await clock.advance(3000.0)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
