"""Configuration of call records: recording, the post-call summary, and their deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ports.call_summarizer import SummaryField

DEFAULT_DISPOSITIONS: Final = (
    "resolved",
    "transferred_to_human",
    "callback_requested",
    "information_only",
    "abandoned",
    "other",
)
"""Dispositions used when the agent graph defines none."""


class RecordingWhen(StrEnum):
    """Which calls are recorded."""

    OFF = "off"
    ALL = "all"
    AGENTS = "agents"
    """Calls an agent of ``RecordsConfig.recording_agents`` takes part in (from then on)."""


class RecordingMode(StrEnum):
    """How a recorded call is recorded."""

    AUTO = "auto"
    """ACS Call Automation for telephony calls (when available), Parley's WAV otherwise."""
    ACS = "acs"
    OWN = "own"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class RecordsConfig:
    """What the recorder and the post-call jobs do.

    Attributes:
        instance_id: This process's id, stored in each header.
        start_agent: The agent graph's start agent (a call's first agent unless it chose one).
        recording: Which calls are recorded.
        recording_mode: How.
        recording_agents: Agents whose calls are recorded with ``RecordingWhen.AGENTS``.
        recording_timeout_ms: Deadline of one provider recording request, ms.
        summary: Whether the post-call summary job runs.
        dispositions: Allowed dispositions (the first is the fallback).
        fields: Fields the summary extracts.
        summary_timeout_ms: Deadline of one summary try, ms.
        summary_attempts: Tries before the summary is marked failed.
        summary_backoff_ms: Wait before the second try (doubles each try), ms.
        summary_concurrency: Summaries made at once per process.

    Raises:
        ValueError: No dispositions, or a non-positive attempt count or concurrency.
    """

    instance_id: str = ""
    start_agent: str = ""
    recording: RecordingWhen = RecordingWhen.OFF
    recording_mode: RecordingMode = RecordingMode.AUTO
    recording_agents: frozenset[str] = frozenset()
    recording_timeout_ms: float = 10_000.0
    summary: bool = True
    dispositions: tuple[str, ...] = DEFAULT_DISPOSITIONS
    fields: tuple[SummaryField, ...] = ()
    summary_timeout_ms: float = 30_000.0
    summary_attempts: int = 3
    summary_backoff_ms: float = 2_000.0
    summary_concurrency: int = 2

    def __post_init__(self) -> None:
        if not self.dispositions:
            raise ValueError("RecordsConfig.dispositions must not be empty")
        if self.summary_attempts < 1 or self.summary_concurrency < 1:
            raise ValueError("RecordsConfig: summary attempts and concurrency must be >= 1")

    def records_agent(self, agent: str | None) -> bool:
        """Whether ``agent`` taking part starts the call's recording."""
        if self.recording is RecordingWhen.ALL:
            return True
        return self.recording is RecordingWhen.AGENTS and agent in self.recording_agents
