"""The ``CallHistory`` port: durable call records, kept after the call for QA and compliance.

A record is one call's header (who, when, which agents, how it ended), its transcript lines
(messages, tool calls, handoffs, per-turn latency records, call events) in order, its
recordings (an ACS Call Automation recording, Parley's own WAV) and its post-call summary.
Unlike the session store and the transcript log, nothing here expires by itself: records are
deleted by call id (a data-protection request) or by age (the retention job).

Promise:
    * ``save_call(header)`` creates or replaces the header of ``header.call_id``; the call's
      lines, recordings and summary are kept.
    * ``append_lines(call_id, lines)`` stores lines by their ``seq``; a line whose ``seq`` is
      already stored is skipped, so a retried batch is never stored twice. ``get`` returns
      lines ordered by ``seq``. Lines may arrive before the header (no record is visible
      until the header is saved). ``append_batch`` does the same for lines of several calls
      in one transaction (the write-behind drain's way: one commit for many calls).
    * ``save_recording(call_id, recording)`` creates or replaces the recording keyed by
      ``(kind, recording_id)``; ``find_recording(server_call_id)`` returns the call and the
      recording made on an ACS server call (its file notification carries only that id).
    * ``save_summary(call_id, summary)`` creates or replaces the summary.
    * ``get(call_id)`` returns the whole record or ``None``.
    * ``find(query)`` returns headers, newest first (``started_at_ms`` then ``call_id``,
      descending), at most ``query.limit``, after skipping ``query.offset``.
    * ``delete(call_id)`` removes the header, lines, recordings and summary and returns what
      the record referenced (so the caller can delete recording files), ``None`` when there
      was no record; ``delete_started_before(cutoff_ms, limit=n)`` does the same for at most
      ``n`` calls started before ``cutoff_ms``, oldest first.
    * Times are Unix epoch milliseconds (``*_at_ms``) or milliseconds from the start of the
      call (``RecordLine.offset_ms``); durations are milliseconds.
    * Errors: :class:`~ports.errors.StoreUnavailableError` when the database cannot be
      reached or a command times out; :class:`~ports.errors.StoreError` for any other
      database failure. Both are safe to retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ports.chat import JsonObject
from ports.transcript_log import TranscriptEntry


class CallOutcome(StrEnum):
    """How a call ended, as a contact centre reports it."""

    IN_PROGRESS = "in_progress"
    """Not ended yet (or the instance running it stopped before it could say)."""
    RESOLVED = "resolved"
    """The agent ended the call, or the caller left after being served."""
    TRANSFERRED = "transferred"
    """Handed to a human or another number."""
    ABANDONED = "abandoned"
    """The caller left before saying anything."""
    FAILED = "failed"
    """Ended by an error, a lost media stream or a lost instance."""


@dataclass(frozen=True, slots=True)
class CallHeader:
    """Who called, when, which agents answered and how the call ended.

    Attributes:
        call_id: The call's id (the ACS call connection id on telephony).
        started_at_ms: Start, Unix epoch ms.
        channel: ``"acs"``, ``"browser"``, ``"test"``.
        caller: Caller number or id as stored: kept, masked or hashed by the data-protection
            setting (never more than the setting allows).
        callee: The number that was called.
        agents: Every agent that took part, in the order they first spoke (start agent first).
        outcome: How it ended (:class:`CallOutcome` value).
        end_reason: The runtime's end reason (``"hang_up"``, ``"transfer"``...).
        ended_at_ms: End, Unix epoch ms; ``None`` while in progress.
        duration_ms: Media stream start to end, ms.
        user_turns: Finished caller turns.
        agent_turns: Finished agent messages.
        barge_ins: Times the caller interrupted the agent.
        correlation_id: The provider's correlation id, for support cases.
        instance_id: The Parley instance that ran the call.
    """

    call_id: str
    started_at_ms: int
    channel: str = ""
    caller: str = ""
    callee: str = ""
    agents: tuple[str, ...] = ()
    outcome: str = CallOutcome.IN_PROGRESS.value
    end_reason: str = ""
    ended_at_ms: int | None = None
    duration_ms: float = 0.0
    user_turns: int = 0
    agent_turns: int = 0
    barge_ins: int = 0
    correlation_id: str = ""
    instance_id: str = ""


@dataclass(frozen=True, slots=True)
class RecordLine:
    """One transcript line of a record: a :class:`~ports.TranscriptEntry` with its place.

    Attributes:
        seq: Position in the call, from 0, unique per call.
        kind: As :attr:`TranscriptEntry.kind` (``"user"``, ``"assistant"``, ``"tool"``,
            ``"event"``, ``"turn_latency"``...).
        text: The words, as stored (redacted by the data-protection setting).
        offset_ms: Time from the start of the call, ms.
        agent: Active agent.
        interrupted: An assistant message cut by barge-in.
        data: Extra JSON fields (tool name and arguments, handoff target, latency stages ms).
    """

    seq: int
    kind: str
    text: str = ""
    offset_ms: float = 0.0
    agent: str | None = None
    interrupted: bool = False
    data: JsonObject = field(default_factory=dict)

    def to_entry(self) -> TranscriptEntry:
        """The line as a transcript entry whose ``at_ms`` is :attr:`offset_ms`."""
        return TranscriptEntry(
            self.kind, self.text, self.offset_ms, self.agent, self.interrupted, self.data
        )


class RecordingKind(StrEnum):
    """Where a recording comes from."""

    ACS = "acs"
    """ACS Call Automation recording; the file is in ACS storage (``location`` is its URL)."""
    WAV = "wav"
    """Parley's own two-channel WAV (caller left, agent right); ``location`` is its path."""


class RecordingState(StrEnum):
    """Lifecycle of a recording."""

    REQUESTED = "requested"
    ACTIVE = "active"
    INACTIVE = "inactive"
    """Stopped or paused; the file is not known yet."""
    AVAILABLE = "available"
    """The file exists at ``location``."""
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RecordingRef:
    """A recording of a call and where its file is.

    Attributes:
        kind: :class:`RecordingKind` value.
        recording_id: The provider's recording id (ACS ``recordingId``; for a WAV, its name).
        state: :class:`RecordingState` value.
        location: Where the file is: a URL (ACS ``contentLocation``) or a file path.
        format: ``"wav"``, ``"mp3"``, ``"mp4"``.
        duration_ms: Length, ms (0 when not known yet).
        server_call_id: ACS server call id the recording was made on ("" for a WAV).
        data: Provider extras (ACS ``metadataLocation``, ``deleteLocation``, an error).
        updated_at_ms: Last change, Unix epoch ms.
    """

    kind: str
    recording_id: str
    state: str
    location: str = ""
    format: str = ""
    duration_ms: float = 0.0
    server_call_id: str = ""
    data: JsonObject = field(default_factory=dict)
    updated_at_ms: int = 0


class SummaryStatus(StrEnum):
    """Where the post-call summary job is."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PostCallSummary:
    """The post-call summary, disposition and extracted fields.

    Attributes:
        status: :class:`SummaryStatus` value.
        text: A short summary of the call.
        disposition: One value of the configured disposition list.
        fields: Extracted fields defined by the agent graph (``{"intent": ..., "resolved": ...}``).
        source: What wrote it: ``"template"`` or the language model's name.
        attempts: Tries made so far.
        error: Error code of the last failed try ("" when none).
        updated_at_ms: Last change, Unix epoch ms.
    """

    status: str
    text: str = ""
    disposition: str = ""
    fields: JsonObject = field(default_factory=dict)
    source: str = ""
    attempts: int = 0
    error: str = ""
    updated_at_ms: int = 0


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A whole record.

    Attributes:
        header: The header.
        lines: Transcript lines ordered by ``seq``.
        recordings: The call's recordings (ordered by kind, then recording id).
        summary: The post-call summary, once the job has started.
    """

    header: CallHeader
    lines: tuple[RecordLine, ...] = ()
    recordings: tuple[RecordingRef, ...] = ()
    summary: PostCallSummary | None = None

    def timeline(self) -> list[RecordLine]:
        """The lines by time (``offset_ms``, then ``seq``).

        ``seq`` is arrival order: a tool call, reported as it starts, may arrive before the
        caller's line that led to it, which is written a moment later.
        """
        return sorted(self.lines, key=lambda line: (line.offset_ms, line.seq))

    def lines_of(self, kind: str) -> list[RecordLine]:
        """The lines of one kind, in order (``"tool"`` gives the tool calls and results)."""
        return [line for line in self.lines if line.kind == kind]

    def handoffs(self) -> list[RecordLine]:
        """The handoff events (``data["event"] == "handoff"``), in order."""
        return [
            line
            for line in self.lines
            if line.kind == "event" and line.data.get("event") == "handoff"
        ]


@dataclass(frozen=True, slots=True)
class CallQuery:
    """Which headers :meth:`CallHistory.find` returns.

    Attributes:
        started_from_ms: Calls started at or after this (Unix epoch ms).
        started_before_ms: Calls started before this (Unix epoch ms).
        agent: Calls this agent took part in.
        outcome: Calls with this outcome.
        caller: Calls from this caller, as stored (apply the data-protection setting first).
        limit: Most headers returned (1..1000).
        offset: Headers skipped first.

    Raises:
        ValueError: ``limit`` outside 1..1000 or a negative ``offset``.
    """

    started_from_ms: int | None = None
    started_before_ms: int | None = None
    agent: str | None = None
    outcome: str | None = None
    caller: str | None = None
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 1000:
            raise ValueError(f"CallQuery.limit must be in 1..1000, got {self.limit}")
        if self.offset < 0:
            raise ValueError(f"CallQuery.offset must be >= 0, got {self.offset}")


@dataclass(frozen=True, slots=True)
class DeletedCall:
    """What a deletion removed.

    Attributes:
        call_id: The call.
        recordings: Its recordings, so their files can be deleted too.
    """

    call_id: str
    recordings: tuple[RecordingRef, ...] = ()


class CallHistory(Protocol):
    """Durable call records (SQLite, PostgreSQL, memory)."""

    async def save_call(self, header: CallHeader) -> None:
        """Create or replace the header of ``header.call_id``.

        Raises:
            StoreError: The database failed (``StoreUnavailableError`` when unreachable).
        """
        ...

    async def append_lines(self, call_id: str, lines: Sequence[RecordLine]) -> None:
        """Store ``lines``; a ``seq`` already stored is skipped.

        Raises:
            StoreError: The database failed; none or all of ``lines`` are stored.
        """
        ...

    async def append_batch(self, lines: Sequence[tuple[str, RecordLine]]) -> None:
        """Store ``(call_id, line)`` pairs of any calls in one transaction (as ``append_lines``).

        Raises:
            StoreError: The database failed; none or all of ``lines`` are stored.
        """
        ...

    async def save_recording(self, call_id: str, recording: RecordingRef) -> None:
        """Create or replace the recording ``(recording.kind, recording.recording_id)``.

        Raises:
            StoreError: The database failed.
        """
        ...

    async def find_recording(self, server_call_id: str) -> tuple[str, RecordingRef] | None:
        """The call id and the latest recording made on ACS server call ``server_call_id``.

        Raises:
            StoreError: The database failed.
        """
        ...

    async def save_summary(self, call_id: str, summary: PostCallSummary) -> None:
        """Create or replace the call's summary.

        Raises:
            StoreError: The database failed.
        """
        ...

    async def get(self, call_id: str) -> CallRecord | None:
        """The whole record, or None when no header was saved.

        Raises:
            StoreError: The database failed.
        """
        ...

    async def find(self, query: CallQuery) -> list[CallHeader]:
        """Headers matching ``query``, newest first.

        Raises:
            StoreError: The database failed.
        """
        ...

    async def delete(self, call_id: str) -> DeletedCall | None:
        """Remove everything of the call; None when there was no header.

        Raises:
            StoreError: The database failed.
        """
        ...

    async def delete_started_before(self, cutoff_ms: int, *, limit: int = 500) -> list[DeletedCall]:
        """Remove at most ``limit`` calls started before ``cutoff_ms``, oldest first.

        Raises:
            StoreError: The database failed.
        """
        ...
