"""The call recorder: writes each call's durable record as the call goes, never in its way.

One :class:`CallRecorder` per process. For each call it is told about (by
:class:`~domain.records.handler.RecordedCallHandler`), it queues the header when the call
starts, a :class:`~ports.call_history.RecordLine` for every transcript line the runtime writes
(the transcript log's tee) and every tool call, the final header with the outcome when the
call ends, then starts the post-call summary. Recording (ACS Call Automation, Parley's own
WAV) starts when the call starts or when an agent that records takes part.

Nothing here awaits the database on the call path: every write goes to one ordered queue that
an owned task drains into the ``CallHistory`` (in production the write-behind wrapper, which
returns at once). The queue is bounded; a write beyond it is dropped, logged and counted.
Redaction (:class:`~domain.records.privacy.PrivacyPolicy`) is applied before queueing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from domain.records.config import RecordingMode, RecordsConfig
from domain.records.outcome import classify
from domain.records.privacy import PrivacyPolicy
from ports import (
    AudioFormat,
    CallInfo,
    CallSummary,
    Clock,
    JsonObject,
    TranscriptEntry,
)
from ports.call_audio import CallAudioRecorder, CallAudioRecording
from ports.call_history import CallHeader, CallHistory, RecordingKind, RecordingRef, RecordLine
from ports.call_recording import CallRecording
from ports.errors import CallNotFoundError

logger = logging.getLogger(__name__)

Submit = Callable[[str], None]
"""Starts the post-call summary of a call id (``SummaryJobs.submit``)."""


@dataclass(slots=True)
class LiveRecord:
    """What the recorder keeps of one call while it runs.

    Attributes:
        header: The header as last queued.
        start_ms: The call's start on the runtime clock, ms (line offsets count from it).
        telephony: The call can be recorded by the provider.
        seq: The next line's ``seq``.
        fmt: The media format, once the stream has started.
        audio: Parley's own recording, while it runs.
        acs: The provider recording task, once started.
    """

    header: CallHeader
    start_ms: float
    telephony: bool
    seq: int = 0
    fmt: AudioFormat | None = None
    audio: CallAudioRecording | None = None
    acs: asyncio.Task[RecordingRef | None] | None = None
    recording_on: bool = False
    transfer_accepted: bool = False
    agents: list[str] = field(default_factory=list)


class CallRecorder:
    """Writes call records for a process.

    Args:
        history: Where records go (the write-behind wrapper in production).
        clock: The runtime's clock (transcript times are on it).
        wall_ms: Unix epoch milliseconds now.
        privacy: What of numbers and words is stored.
        config: Recording, summary and deadlines.
        recording: Provider recording (ACS), when configured.
        audio: Parley's own WAV recorder, when configured.
        max_queued: Writes that may wait for the history; beyond, they are dropped and counted.
    """

    def __init__(
        self,
        history: CallHistory,
        *,
        clock: Clock,
        wall_ms: Callable[[], float],
        privacy: PrivacyPolicy | None = None,
        config: RecordsConfig | None = None,
        recording: CallRecording | None = None,
        audio: CallAudioRecorder | None = None,
        max_queued: int = 10_000,
    ) -> None:
        self.history = history
        self._clock = clock
        self._wall_ms = wall_ms
        self.privacy = privacy or PrivacyPolicy()
        self.config = config or RecordsConfig()
        self._recording = recording
        self._audio = audio
        self._max = max_queued
        self._live: dict[str, LiveRecord] = {}
        self._ops: deque[Callable[[], Awaitable[None]]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.submit_summary: Submit | None = None
        """Set by bootstrap to the summary jobs' ``submit``."""
        self.dropped = 0
        """Writes dropped because the queue was full."""

    # ------------------------------------------------------------------ the ordered writer

    def _queue(self, op: Callable[[], Awaitable[None]]) -> None:
        if len(self._ops) >= self._max:
            self.dropped += 1
            logger.error("call records: write queue full (%d); a write was dropped", self._max)
            return
        self._ops.append(op)
        self._idle.clear()
        self._wake.set()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(
                self._drain(), name="call-records-writer"
            )

    async def _drain(self) -> None:
        while True:
            while not self._ops:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
            op = self._ops.popleft()
            try:
                await op()
            except Exception as exc:  # noqa: BLE001 (a lost write must not stop the others)
                logger.warning("call records: write failed: %r", exc)

    def save_header(self, header: CallHeader) -> None:
        """Queue ``header``."""
        self._queue(lambda: self.history.save_call(header))

    def save_recording(self, call_id: str, recording: RecordingRef) -> None:
        """Queue ``recording`` of ``call_id``."""
        self._queue(lambda: self.history.save_recording(call_id, recording))

    # ------------------------------------------------------------------ calls

    def begin(self, info: CallInfo) -> LiveRecord:
        """A call arrived: remember it and queue its header."""
        agent = info.start_agent or self.config.start_agent
        header = CallHeader(
            call_id=info.call_id,
            started_at_ms=int(self._wall_ms()),
            channel=info.channel,
            caller=self.privacy.number(info.caller),
            callee=self.privacy.number(info.callee),
            agents=(agent,) if agent else (),
            correlation_id=info.correlation_id,
            instance_id=self.config.instance_id,
        )
        live = LiveRecord(header, self._clock.now_ms(), info.telephony)
        live.agents.extend(header.agents)
        self._live[info.call_id] = live
        self.save_header(header)
        if self.config.records_agent(agent):
            self.start_recording(live)
        return live

    def live(self, call_id: str) -> LiveRecord | None:
        """The call's live record, if the call is running here."""
        return self._live.get(call_id)

    def line(self, call_id: str, entry: TranscriptEntry) -> None:
        """Queue a transcript line of a running call (others are ignored)."""
        live = self._live.get(call_id)
        if live is None:
            return
        self._saw_agent(live, entry.agent)
        self._append(
            live, entry.kind, entry.text, entry.at_ms, entry.agent, entry.data, entry.interrupted
        )

    def tool_call(self, call_id: str, name: str, data: JsonObject, agent: str | None) -> None:
        """Queue a ``tool_call`` line (the tool's name, call id and arguments)."""
        live = self._live.get(call_id)
        if live is not None:
            payload: JsonObject = {"name": name, **data}
            self._append(live, "tool_call", name, self._clock.now_ms(), agent, payload, False)

    def _append(
        self,
        live: LiveRecord,
        kind: str,
        text: str,
        at_ms: float,
        agent: str | None,
        data: JsonObject,
        interrupted: bool,
    ) -> None:
        privacy = self.privacy
        marks = data.get("marks")
        if isinstance(marks, dict):
            # Latency marks are runtime clock times: store them from the call's start too.
            rebased: JsonObject = {
                k: round(v - live.start_ms, 1) if isinstance(v, int | float) else v
                for k, v in marks.items()
            }
            data = {**data, "marks": rebased}
        line = RecordLine(
            seq=live.seq,
            kind=kind,
            text=text if kind == "tool_call" else privacy.text(text),
            offset_ms=round(max(0.0, at_ms - live.start_ms), 1),
            agent=agent,
            interrupted=interrupted,
            data=privacy.data(data),
        )
        live.seq += 1
        call_id = live.header.call_id
        self._queue(lambda: self.history.append_lines(call_id, (line,)))

    def _saw_agent(self, live: LiveRecord, agent: str | None) -> None:
        if not agent or agent in live.agents:
            return
        live.agents.append(agent)
        live.header = replace(live.header, agents=tuple(live.agents))
        if self.config.records_agent(agent):
            self.start_recording(live)

    def media_started(self, live: LiveRecord, fmt: AudioFormat) -> None:
        """The call's media stream started in ``fmt`` (own recording may open now)."""
        live.fmt = fmt
        if live.recording_on:
            self._open_audio(live)

    # ------------------------------------------------------------------ recording

    def _kinds(self, live: LiveRecord) -> tuple[bool, bool]:
        mode = self.config.recording_mode
        acs_possible = live.telephony and self._recording is not None
        acs = mode in (RecordingMode.ACS, RecordingMode.BOTH) or (
            mode is RecordingMode.AUTO and acs_possible
        )
        own = mode in (RecordingMode.OWN, RecordingMode.BOTH) or (
            mode is RecordingMode.AUTO and not acs_possible
        )
        return acs and acs_possible, own and self._audio is not None

    def start_recording(self, live: LiveRecord) -> None:
        """Start the call's recording(s), once."""
        if live.recording_on:
            return
        live.recording_on = True
        acs, own = self._kinds(live)
        if own and live.fmt is not None:
            self._open_audio(live)
        if acs:
            live.acs = asyncio.get_running_loop().create_task(
                self._start_acs(live.header.call_id), name="call-recording-start"
            )

    def _open_audio(self, live: LiveRecord) -> None:
        if live.audio is not None or live.fmt is None or self._audio is None:
            return
        if not self._kinds(live)[1]:
            return
        try:
            live.audio = self._audio.open(live.header.call_id, live.fmt)
        except Exception as exc:  # noqa: BLE001 (no recording must never mean no call)
            logger.warning("call %s: own recording not started: %r", live.header.call_id, exc)

    async def _start_acs(self, call_id: str) -> RecordingRef | None:
        assert self._recording is not None  # noqa: S101 (checked by _kinds)
        try:
            async with asyncio.timeout(self.config.recording_timeout_ms / 1000.0):
                ref = await self._recording.start(call_id)
        except Exception as exc:  # noqa: BLE001 (the call goes on unrecorded)
            logger.warning("call %s: ACS recording not started: %r", call_id, exc)
            ref = RecordingRef(
                RecordingKind.ACS.value,
                f"{call_id}:start",
                "failed",
                data={"error": getattr(exc, "code", type(exc).__name__)},
                updated_at_ms=int(self._wall_ms()),
            )
            self.save_recording(call_id, ref)
            return None
        self.save_recording(call_id, replace(ref, updated_at_ms=int(self._wall_ms())))
        return ref

    async def _stop_recordings(self, live: LiveRecord) -> None:
        call_id = live.header.call_id
        if live.audio is not None:
            try:
                own = await live.audio.close()
                self.save_recording(call_id, replace(own, updated_at_ms=int(self._wall_ms())))
            except Exception as exc:  # noqa: BLE001 (logged; the record stays)
                logger.warning("call %s: own recording not closed: %r", call_id, exc)
        if live.acs is not None and self._recording is not None:
            started = await live.acs
            if started is not None:
                try:
                    async with asyncio.timeout(self.config.recording_timeout_ms / 1000.0):
                        await self._recording.stop(started.recording_id)
                except CallNotFoundError:
                    pass  # the call (and so the recording) had already ended at ACS
                except Exception as exc:  # noqa: BLE001 (ACS stops it with the call anyway)
                    logger.warning("call %s: ACS recording not stopped: %r", call_id, exc)

    # ------------------------------------------------------------------ end of call

    def finish(self, live: LiveRecord, summary: CallSummary) -> None:
        """The call ended: queue the final header, close recordings, start the summary."""
        self._live.pop(live.header.call_id, None)
        header = replace(
            live.header,
            agents=tuple(live.agents),
            outcome=classify(summary, transfer_accepted=live.transfer_accepted).value,
            end_reason=summary.end_reason,
            ended_at_ms=int(self._wall_ms()),
            duration_ms=round(summary.duration_ms, 1),
            user_turns=summary.user_turns,
            agent_turns=summary.agent_turns,
            barge_ins=summary.barge_ins,
        )
        live.header = header
        self.save_header(header)
        task = asyncio.get_running_loop().create_task(self._after(live), name="call-records-after")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after(self, live: LiveRecord) -> None:
        await self._stop_recordings(live)
        submit = self.submit_summary
        if self.config.summary and submit is not None:
            call_id = live.header.call_id

            async def start_summary() -> None:
                submit(call_id)

            # Through the ordered queue: the job starts only once the final header and every
            # line are in the history, so it never reads the call as still in progress.
            self._queue(start_summary)

    async def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued write was handed to the history; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                while self._tasks:
                    await asyncio.wait(set(self._tasks))
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Finish queued work within ``timeout_s``, then stop the writer."""
        await self.flush(timeout_s)
        for task in list(self._tasks):
            task.cancel()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
