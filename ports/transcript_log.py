"""The ``TranscriptLog`` port: an append-only, ordered, expiring log per call.

Promise:
    * ``append(call_id, entry)`` adds an entry; entries of one call are read back by ``read``
      in append order. Appends of different calls are independent.
    * Every log has a TTL (the adapter's configured ``ttl_ms``), refreshed on append; a bounded
      adapter may trim its oldest entries past a documented maximum length.
    * Errors: :class:`~ports.errors.StoreUnavailableError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ports.chat import JsonObject


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One line of a call's transcript.

    Attributes:
        kind: ``"user"``, ``"assistant"``, ``"tool"``, ``"system"`` for messages, or
            ``"turn_latency"`` for a per-turn latency record, ``"event"`` for call events.
        text: The words (for an interrupted assistant message, only those heard).
        at_ms: Monotonic ms when it was recorded (the runtime's clock).
        agent: Active agent name, when any.
        interrupted: True for an assistant message cut by barge-in.
        data: Extra JSON fields (latency figures in ms, tool name, handoff target).
    """

    kind: str
    text: str = ""
    at_ms: float = 0.0
    agent: str | None = None
    interrupted: bool = False
    data: JsonObject = field(default_factory=dict)


class TranscriptLog(Protocol):
    """Per-call transcript log."""

    async def append(self, call_id: str, entry: TranscriptEntry) -> None:
        """Append ``entry`` to the call's log.

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...

    async def read(self, call_id: str) -> list[TranscriptEntry]:
        """All entries of the call, in append order (empty when none or expired).

        Raises:
            StoreUnavailableError: The backend failed.
        """
        ...
