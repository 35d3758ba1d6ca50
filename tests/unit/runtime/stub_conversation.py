"""A stand-in for the session state machine that reacts to events with fixed commands.

It lets the runtime's mechanics (pacing, stop-audio, task ownership, failure translation,
latency records) be tested on their own, whatever the conversation policy decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from domain.commands import Command
from domain.conversation import CallStatus, Step
from domain.events import Event


@dataclass(frozen=True)
class StubState:
    call_id: str
    agent: str = "stub"
    status: CallStatus = field(default_factory=CallStatus)

    def to_dict(self) -> dict[str, object]:
        return {"schema_version": 1, "call_id": self.call_id}


class StubConversation:
    """``react(event)`` returns the commands for each event; every event is recorded."""

    def __init__(self, react: Callable[[Event], Sequence[Command]]) -> None:
        self.react = react
        self.seen: list[Event] = []

    def initial_state(self, call_id: str) -> StubState:
        return StubState(call_id)

    def step(self, state: StubState, event: Event) -> Step:
        self.seen.append(event)
        return Step(state, tuple(self.react(event)))  # type: ignore[arg-type]

    def of(self, kind: type) -> list:
        return [e for e in self.seen if isinstance(e, kind)]
