"""The post-call summary job: off the call path, bounded in time, retried.

When a call ends the recorder submits its id. A job reads the record (lines as stored, so
already redacted), asks the ``CallSummarizer`` for a summary, a disposition and the agent
graph's fields, and writes the result into the record. Each try has a deadline
(``summary_timeout_ms``); a failed or late try is retried after a growing wait, up to
``summary_attempts`` tries, after which the summary is stored as ``failed`` with the last
error's code. Progress is visible in the record: ``pending`` (with the try count), then
``done`` or ``failed``.

At most ``summary_concurrency`` jobs run at once per process (the rest wait their turn); every
job is a task owned here and cancelled by :meth:`SummaryJobs.aclose`. A job lost with its
process (killed mid-job) leaves ``pending`` in the record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from domain.records.config import RecordsConfig
from ports import Clock
from ports.call_history import CallHistory, PostCallSummary, SummaryStatus
from ports.call_summarizer import CallSummarizer, SummaryRequest, SummaryResult

logger = logging.getLogger(__name__)


def _code(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return str(getattr(exc, "code", "") or type(exc).__name__)


def coerce(result: SummaryResult, config: RecordsConfig) -> SummaryResult:
    """``result`` with a disposition from the configured list and exactly the configured fields.

    An unknown disposition becomes the list's fallback (its first); a missing field is None;
    a boolean field given as ``"yes"``/``"no"`` becomes a bool; a choice outside its choices
    becomes None.
    """
    disposition = result.disposition if result.disposition in config.dispositions else ""
    fields: dict[str, object] = {}
    for spec in config.fields:
        value = result.fields.get(spec.name)
        if spec.kind == "boolean" and isinstance(value, str):
            value = {"yes": True, "true": True, "no": False, "false": False}.get(value.lower())
        if spec.kind == "boolean" and not isinstance(value, bool):
            value = None
        if spec.kind == "choice" and value not in spec.choices:
            value = None
        if spec.kind == "text" and value is not None and not isinstance(value, str):
            value = str(value)
        fields[spec.name] = value
    return SummaryResult(
        text=result.text.strip(),
        disposition=disposition or config.dispositions[0],
        fields=fields,  # type: ignore[arg-type]
        source=result.source,
    )


class SummaryJobs:
    """Runs post-call summaries for a process.

    Args:
        history: Where records are read and summaries written.
        summarizer: Writes the summary.
        config: Attempts, deadlines, dispositions, fields, concurrency.
        clock: Sleeps between tries.
        wall_ms: Unix epoch milliseconds now (``updated_at_ms``).
    """

    def __init__(
        self,
        history: CallHistory,
        summarizer: CallSummarizer,
        config: RecordsConfig,
        *,
        clock: Clock,
        wall_ms: Callable[[], float],
    ) -> None:
        self._history = history
        self._summarizer = summarizer
        self._config = config
        self._clock = clock
        self._wall_ms = wall_ms
        self._slots = asyncio.Semaphore(config.summary_concurrency)
        self._tasks: set[asyncio.Task[PostCallSummary | None]] = set()
        self.completed = 0
        self.failed = 0

    def submit(self, call_id: str) -> None:
        """Start the summary of ``call_id`` (returns at once)."""
        task = asyncio.get_running_loop().create_task(
            self.run(call_id), name=f"call-summary-{call_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, call_id: str) -> PostCallSummary | None:
        """Summarise one call now (retrying as configured); None when it has no record."""
        async with self._slots:
            return await self._run(call_id)

    async def _save(self, call_id: str, summary: PostCallSummary) -> None:
        try:
            await self._history.save_summary(call_id, summary)
        except Exception as exc:  # noqa: BLE001 (the write-behind retries; log the rest)
            logger.warning("call %s: summary not saved: %r", call_id, exc)

    async def _run(self, call_id: str) -> PostCallSummary | None:
        config = self._config
        error = ""
        for attempt in range(1, config.summary_attempts + 1):
            if attempt > 1:
                await self._clock.sleep(config.summary_backoff_ms * 2 ** (attempt - 2))
            now = int(self._wall_ms())
            await self._save(
                call_id,
                PostCallSummary("pending", attempts=attempt, error=error, updated_at_ms=now),
            )
            try:
                async with asyncio.timeout(config.summary_timeout_ms / 1000.0):
                    record = await self._history.get(call_id)
                    if record is None:
                        logger.warning("call %s: no record to summarise", call_id)
                        return None
                    request = SummaryRequest(
                        record.header, record.timeline(), config.dispositions, config.fields
                    )
                    result = coerce(await self._summarizer.summarize(request), config)
            except Exception as exc:  # noqa: BLE001 (any failure is retried, then recorded)
                error = _code(exc)
                logger.warning(
                    "call %s: summary try %d/%d failed: %s",
                    call_id,
                    attempt,
                    config.summary_attempts,
                    error,
                )
                continue
            done = PostCallSummary(
                SummaryStatus.DONE.value,
                result.text,
                result.disposition,
                result.fields_json(),
                result.source,
                attempt,
                "",
                int(self._wall_ms()),
            )
            await self._save(call_id, done)
            self.completed += 1
            return done
        failed = PostCallSummary(
            SummaryStatus.FAILED.value,
            attempts=config.summary_attempts,
            error=error,
            updated_at_ms=int(self._wall_ms()),
        )
        await self._save(call_id, failed)
        self.failed += 1
        return failed

    @property
    def running(self) -> int:
        """Jobs submitted and not finished."""
        return len(self._tasks)

    async def join(self, timeout_s: float = 30.0) -> bool:
        """Wait for the submitted jobs; False when ``timeout_s`` passed first."""
        try:
            async with asyncio.timeout(timeout_s):
                while self._tasks:
                    await asyncio.wait(set(self._tasks))
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        """Cancel every job and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
