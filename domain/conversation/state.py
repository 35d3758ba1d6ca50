"""The frozen session state, its JSON form, and the outcome of one step.

:class:`SessionState` is everything the conversation remembers about one call; it serialises
to a JSON-compatible dict (:meth:`SessionState.to_dict`) for the session store and back
(:meth:`SessionState.from_dict`), through the generic codec in
:mod:`domain.conversation.codec`. Its parts live in :mod:`domain.conversation.parts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.commands import Command
from domain.conversation.codec import build, decode_call, decode_message, encode
from domain.conversation.copier import nested_copier
from domain.conversation.parts import (
    CallStatus,
    Clause,
    Reply,
    ResponseState,
    Resume,
    Then,
    TurnState,
    UserState,
)
from ports import ChatMessage, JsonValue

SCHEMA_VERSION = 1
"""Version of :meth:`SessionState.to_dict`'s shape; bumped on any incompatible change."""


class Phase(StrEnum):
    """Where the conversation is.

    LISTENING: waiting for the caller. USER_SPEAKING: the caller is speaking and the agent is
    silent. THINKING: a response is in flight and nothing is playing. SPEAKING: agent speech is
    queued or playing (the caller may be speaking too, before a barge-in). ENDED: the call is
    over, or a hang-up has been issued.
    """

    LISTENING = "listening"
    USER_SPEAKING = "user_speaking"
    THINKING = "thinking"
    SPEAKING = "speaking"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class SessionState:
    """Everything the conversation remembers about one call; a frozen, serialisable value.

    Attributes:
        call_id: The call.
        phase: Where the conversation is.
        agent: Active agent name.
        history: Finished messages (user, assistant, tool), oldest first; what the model sees
            after the agent's system message.
        seq: Counter for response ids, speech ids and timer tokens.
        response: The model response in flight, if any (at most one).
        reply: The assistant message being spoken, if any.
        resume: An interrupted message awaiting the false-interruption decision.
        user: The caller's side.
        turn: The current user turn.
        timers: Running timers as ``(name, token)``.
        status: Call-wide counters and flags.
    """

    call_id: str
    phase: Phase = Phase.LISTENING
    agent: str = ""
    history: tuple[ChatMessage, ...] = ()
    seq: int = 0
    response: ResponseState | None = None
    reply: Reply | None = None
    resume: Resume | None = None
    user: UserState = UserState()
    turn: TurnState = TurnState()
    timers: tuple[tuple[str, int], ...] = ()
    status: CallStatus = CallStatus()

    def to_dict(self) -> dict[str, JsonValue]:
        """Serialise to a JSON-compatible dict (``json.dumps`` works on it).

        Returns:
            A dict with ``"schema_version"`` (:data:`SCHEMA_VERSION`) and every field;
            tuples become lists, enums their values.
        """
        data = encode(self)
        assert isinstance(data, dict)  # noqa: S101 - a dataclass always encodes to a dict
        return {"schema_version": SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        """Rebuild a state from :meth:`to_dict` output (possibly through JSON).

        Args:
            data: The serialised state.

        Returns:
            An equal state.

        Raises:
            ValueError: Unknown ``schema_version`` or a malformed field.
        """
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"session state schema_version {version!r} is not supported"
                f" (expected {SCHEMA_VERSION})"
            )
        try:
            return _decode_state(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed session state: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one event.

    Attributes:
        state: The new state (the same object when nothing changed).
        commands: Commands to execute, in order.
        noop_reason: Why the event changed nothing (unknown response id, stale timer, call
            already ended...), else None.
    """

    state: SessionState
    commands: tuple[Command, ...]
    noop_reason: str | None = None


def _then(value: str) -> Then:
    # Before the enum, "no action" of a response was stored as "".
    return Then(value) if value else Then.LISTEN


def _decode_state(data: Mapping[str, Any]) -> SessionState:
    return build(
        SessionState,
        data,
        phase=Phase,
        history=lambda v: tuple(decode_message(m) for m in v),
        response=lambda v: build(
            ResponseState,
            v,
            pending_calls=lambda c: tuple(decode_call(x) for x in c),
            then=_then,
        ),
        reply=lambda v: build(
            Reply, v, clauses=lambda c: tuple(build(Clause, x) for x in c), then=_then
        ),
        resume=lambda v: build(Resume, v, then=_then),
        user=lambda v: build(UserState, v),
        turn=lambda v: build(TurnState, v),
        timers=lambda v: tuple((str(name), int(token)) for name, token in v),
        status=lambda v: build(CallStatus, v, errors=tuple),
    )


with_progress: Callable[[SessionState, int, float, str | None, float | None], SessionState] = (
    nested_copier(
        SessionState, "reply", Reply, ("played", "playing_ms", "playing_text", "playing_total_ms")
    )
)
"""``with_progress(state, played, ms, text, total_ms)``: ``state`` whose reply (not None) is
at a new playback position (``played`` clauses done, ``ms`` of the next played, its ``text``
heard and ``total_ms`` when reported); the hottest path's ``replace``, in one call."""
