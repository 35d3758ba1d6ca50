"""The session state machine: ``(state, event) -> (state, commands)``.

:class:`Conversation` holds the immutable configuration (agent graph and policies) and one pure
transition function, :meth:`Conversation.step`. :class:`SessionState` is a frozen value that
serialises to a JSON-compatible dict (:meth:`SessionState.to_dict`) for the session store.
No asyncio, no I/O, no logging and no clock here: time arrives on events as monotonic ms.

How the runtime uses it::

    conversation = Conversation(graph, policy)
    state = conversation.initial_state(call_id)
    step = conversation.step(state, CallStarted(at_ms=clock.now_ms(), call_id=call_id))
    state = step.state
    for command in step.commands:   # in order; StopPlayback + CancelResponse come together
        execute(command)

Phases: LISTENING -> USER_SPEAKING -> (final transcript) THINKING -> SPEAKING -> LISTENING.
``state.phase`` leaving SPEAKING means every clause queued so far has been played (its last
``PlaybackCompleted``); when no response is in flight either, the reply is finished and the
no-input timer starts with a ``StartTimer("no_input")`` in the same step.

What the runtime must report back: ``PlaybackProgress``/``PlaybackCompleted`` for every
``Speak`` (by ``speech_id``; ``played_text`` and ``duration_ms`` when known sharpen the
heard-words cut on barge-in), every model event under its ``response_id``, a
``ToolCompleted`` for every ``RunTool``, and a ``TimerFired`` with the token of every
``StartTimer`` that was not cancelled. After ``StopPlayback`` or ``CancelResponse``, late events
of the stopped speech or response are ignored (no-ops with a reason).

Decisions (see docs/adr/0002-domain-as-a-pure-state-machine.md):

* End of turn: a final transcript starts the response at once; a further final within
  ``end_of_turn_grace_ms``, before the response has spoken or called a tool, cancels it, merges
  into the same user message and restarts it. The user's transcript line is emitted when the
  turn is sealed (grace timer, first clause spoken, tool call, completion or failure).
* A reply (one assistant message) may span several ``Speak`` clauses and tool rounds; text
  stored with a tool call or before a handoff is kept whole, only the rest is truncated to the
  heard words on barge-in.
* Handoff tools (``handoff_to_<agent>``) are handled here and never sent to ``RunTool``.
* Speech that ends in a hang-up or a transfer, and uninterruptible clauses, are never cut;
  caller input during them is handled once they have played.

Timers the domain starts (:class:`~domain.commands.StartTimer` ``name``; stale ``TimerFired``
tokens are ignored): ``end_of_turn`` (seal the merged user turn), ``barge_in`` (the caller has
spoken ``min_speech_ms``), ``false_interruption``, ``no_input``, ``dtmf`` (inter-digit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from domain.agents import (
    HANDOFF_TOOL_PREFIX,
    AgentGraph,
    AgentSpec,
    HandoffTarget,
    handoff_tool_name,
)
from domain.commands import (
    CancelResponse,
    CancelTimer,
    Command,
    EmitTranscript,
    HandOffTo,
    HangUp,
    RunTool,
    SaveSession,
    Speak,
    StartResponse,
    StartTimer,
    StopPlayback,
    TransferCall,
)
from domain.events import (
    CallEnded,
    CallStarted,
    DtmfDigit,
    Event,
    FinalTranscript,
    PartialTranscript,
    PlaybackCompleted,
    PlaybackProgress,
    ProviderFailed,
    ResponseCompleted,
    ResponseFailed,
    ResponseTextDelta,
    TimerFired,
    ToolCallsRequested,
    ToolCompleted,
    TransferResult,
    UserSpeechStarted,
    UserSpeechStopped,
)
from domain.policies import BargeInPolicy, ConversationPolicy, EndpointingPolicy, transcript_words
from domain.segmenter import ClauseSegmenter
from ports import (
    ChatMessage,
    HandOff,
    JsonObject,
    JsonValue,
    ModelOptions,
    Role,
    ToolCall,
    ToolSpec,
    TranscriptEntry,
    Voice,
)
from ports import HangUp as HangUpAction
from ports import TransferCall as TransferAction

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")

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
class Clause:
    """One ``Speak`` of a reply.

    Attributes:
        speech_id: The ``Speak.speech_id``.
        text: The clause text exactly as cut (joined clauses give the reply text).
        interruptible: Whether barge-in may cut it.
        response_id: The response it came from, or None for a fixed line.
    """

    speech_id: str
    text: str
    interruptible: bool = True
    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """The assistant message being spoken: clauses in play order and how far playback got.

    Attributes:
        agent: Agent speaking.
        then: What follows once it has played: ``listen``, ``hang_up`` or ``transfer``.
        target: Transfer target when ``then == "transfer"``.
        prefix: Words of an interrupted message this reply resumes (already heard).
        text: Every clause's text joined (spoken or queued).
        buffer: Streamed text awaiting a clause cut.
        committed: Characters of ``text`` already stored in the history (text before a tool
            call or a handoff); only the rest is truncated on barge-in.
        clauses: Clauses in play order.
        played: Clauses played to the end.
        playing_ms: Ms played of ``clauses[played]``.
        playing_text: Words played of ``clauses[played]`` when playback reported them.
        playing_total_ms: Total ms of ``clauses[played]`` when playback reported it.
    """

    agent: str
    then: str = "listen"
    target: str = ""
    prefix: str = ""
    text: str = ""
    buffer: str = ""
    committed: int = 0
    clauses: tuple[Clause, ...] = ()
    played: int = 0
    playing_ms: float = 0.0
    playing_text: str | None = None
    playing_total_ms: float | None = None

    @property
    def playing(self) -> Clause | None:
        """The clause now playing (or queued next), None when all have played."""
        return self.clauses[self.played] if self.played < len(self.clauses) else None


@dataclass(frozen=True, slots=True)
class ResponseState:
    """The one model response in flight.

    Attributes:
        response_id: Its id (``StartResponse.response_id``).
        round: Model round within the user turn, 1-based (each tool round adds one).
        streaming: True until ``ResponseCompleted``.
        spoke: True once a ``Speak`` was issued for it.
        tool_round: It requested tool calls (another round follows their results).
        pending_calls: Tool calls requested and not yet completed.
        handoff_greeting: A handoff in this round left a greeting to speak instead of another
            model round.
        then: An action a tool result asked for: ``""``, ``transfer`` or ``hang_up``.
        target: Transfer target for ``then == "transfer"``.
    """

    response_id: str
    round: int = 1
    streaming: bool = True
    spoke: bool = False
    tool_round: bool = False
    pending_calls: tuple[ToolCall, ...] = ()
    handoff_greeting: bool = False
    then: str = ""
    target: str = ""


@dataclass(frozen=True, slots=True)
class Resume:
    """An interrupted message awaiting the false-interruption decision.

    Attributes:
        agent: Agent whose message it was.
        heard: Words the caller heard (stored, truncated, if the interruption was real).
        rest: Unplayed text, spoken again after a false interruption.
        then: The interrupted reply's ``then``.
        target: The interrupted reply's transfer target.
    """

    agent: str
    heard: str
    rest: str
    then: str = "listen"
    target: str = ""


@dataclass(frozen=True, slots=True)
class UserState:
    """The caller's side right now.

    Attributes:
        speaking: The caller is speaking (VAD).
        started_ms: VAD onset of the current speech, ms.
        partial: Latest partial transcript of the current speech.
        barged_in: The current speech already interrupted the agent.
        deferred: User text that arrived during uninterruptible speech, handled after it.
        dtmf: Collected DTMF digits.
        over_speech: ``speech_id`` of the agent clause playing (or queued) at the onset, or
            "" when the agent was silent. Only speech that began over the current reply may
            barge into it: the tail of the caller's own turn, still "speaking" while VAD
            smooths its end, must not cut the answer to that turn.
    """

    speaking: bool = False
    started_ms: float = 0.0
    partial: str = ""
    barged_in: bool = False
    deferred: str = ""
    dtmf: str = ""
    over_speech: str = ""


@dataclass(frozen=True, slots=True)
class TurnState:
    """The current user turn.

    Attributes:
        open: The turn may still merge another final (not sealed; transcript not emitted).
        text: The turn's user text (merged finals).
        final_ms: When its latest final arrived, ms.
        tool_rounds: Tool rounds so far in this turn.
        handoffs: Handoffs so far in this turn.
    """

    open: bool = False
    text: str = ""
    final_ms: float = 0.0
    tool_rounds: int = 0
    handoffs: int = 0


@dataclass(frozen=True, slots=True)
class CallStatus:
    """Call-wide counters and flags.

    Attributes:
        started: ``CallStarted`` was seen.
        transferring: A transfer was requested and its result is pending.
        end_reason: Why the call ended, once the phase is ENDED.
        reprompts: Reprompts since the caller last took a turn.
        failures: Consecutive provider failures.
        errors: Recorded conversation errors (unknown handoff target, provider failures...).
        user_turns: Finished user turns.
        agent_turns: Finished assistant messages.
        barge_ins: Barge-ins that stopped playback.
    """

    started: bool = False
    transferring: bool = False
    end_reason: str = ""
    reprompts: int = 0
    failures: int = 0
    errors: tuple[str, ...] = ()
    user_turns: int = 0
    agent_turns: int = 0
    barge_ins: int = 0


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
        data = _encode(self)
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


_END_OF_TURN = "end_of_turn"
_BARGE_IN = "barge_in"
_FALSE_INTERRUPTION = "false_interruption"
_NO_INPUT = "no_input"
_DTMF = "dtmf"
_DTMF_KEYS = frozenset("0123456789*#ABCD")
_LISTEN = "listen"
_HANG_UP = "hang_up"
_TRANSFER = "transfer"
_WORD = re.compile(r"\S+")

Handler: TypeAlias = Callable[["_Tx", Any], "str | None"]


class _Tx:
    """The working copy of one step: the evolving state and the commands so far."""

    __slots__ = ("at", "cmds", "s", "save")

    def __init__(self, state: SessionState, at: float) -> None:
        self.s = state
        self.at = at
        self.cmds: list[Command] = []
        self.save = False


def _phase_of(s: SessionState) -> Phase:
    if s.status.end_reason:
        return Phase.ENDED
    reply = s.reply
    if reply is not None and reply.played < len(reply.clauses):
        return Phase.SPEAKING
    if s.response is not None:
        return Phase.THINKING
    if s.user.speaking:
        return Phase.USER_SPEAKING
    return Phase.LISTENING


def _end_of_words(text: str, count: int) -> int:
    """Index just after the ``count``-th word of ``text`` (0 for none)."""
    if count <= 0:
        return 0
    end = 0
    for n, match in enumerate(_WORD.finditer(text), 1):
        end = match.end()
        if n >= count:
            break
    return end


def _end_of_words_within(text: str, limit: int) -> int:
    """Index just after the last word of ``text`` that ends at or before ``limit``."""
    end = 0
    for match in _WORD.finditer(text):
        if match.end() > limit:
            break
        end = match.end()
    return end


class Conversation:
    """Immutable conversation configuration plus the pure transition function.

    Args:
        graph: The agent graph; it is validated (tools are not checked here).
        policy: Conversation policies; defaults when None.

    Raises:
        AgentGraphError: The graph is invalid.
    """

    def __init__(self, graph: AgentGraph, policy: ConversationPolicy | None = None) -> None:
        self.graph = graph.check()
        self.policy = policy if policy is not None else ConversationPolicy()
        pol = self.policy
        self._agents: dict[str, AgentSpec] = {a.name: a for a in graph.agents}
        self._segmenter = ClauseSegmenter(pol.speech.min_clause_chars)
        self._barge: dict[str, BargeInPolicy] = {
            a.name: a.barge_in or pol.barge_in for a in graph.agents
        }
        self._endpointing: dict[str, EndpointingPolicy] = {
            a.name: a.endpointing or pol.endpointing for a in graph.agents
        }
        self._system: dict[str, ChatMessage] = {
            a.name: ChatMessage(Role.SYSTEM, a.instructions, agent=a.name) for a in graph.agents
        }
        self._options: dict[str, ModelOptions] = {
            a.name: a.model if a.model.agent else replace(a.model, agent=a.name)
            for a in graph.agents
        }
        self._handoff_tools: dict[str, tuple[ToolSpec, ...]] = {
            a.name: tuple(_handoff_spec(t) for t in a.handoffs) for a in graph.agents
        }
        self._handlers: dict[type, Handler] = {
            CallStarted: self._on_call_started,
            CallEnded: self._on_call_ended,
            UserSpeechStarted: self._on_speech_started,
            UserSpeechStopped: self._on_speech_stopped,
            PartialTranscript: self._on_partial,
            FinalTranscript: self._on_final,
            DtmfDigit: self._on_dtmf,
            ResponseTextDelta: self._on_delta,
            ToolCallsRequested: self._on_tool_calls,
            ToolCompleted: self._on_tool_completed,
            ResponseCompleted: self._on_response_completed,
            ResponseFailed: self._on_response_failed,
            PlaybackProgress: self._on_progress,
            PlaybackCompleted: self._on_playback_completed,
            TimerFired: self._on_timer,
            ProviderFailed: self._on_provider_failed,
            TransferResult: self._on_transfer_result,
        }

    def initial_state(self, call_id: str) -> SessionState:
        """A fresh state for ``call_id``, with the start agent active and nothing said."""
        return SessionState(call_id=call_id, agent=self.graph.start)

    def step(self, state: SessionState, event: Event) -> Step:
        """Apply ``event`` to ``state``.

        Args:
            state: The current state.
            event: What happened.

        Returns:
            The new state and the commands to run. Events that do not fit (unknown response
            id, progress for an old speech, input after the call ended) return the same state,
            no command and a ``noop_reason``. Never raises on live input: an unexpected
            internal error also becomes a no-op whose reason starts with "internal error".
        """
        kind = type(event)
        handler = self._handlers.get(kind)
        if handler is None:
            return Step(state, (), f"unknown event type {kind.__name__}")
        if state.phase is Phase.ENDED and kind is not CallEnded:
            return Step(state, (), "call already ended")
        if not state.status.started and kind is not CallStarted and kind is not CallEnded:
            return Step(state, (), "call not started")
        tx = _Tx(state, event.at_ms)
        try:
            reason = handler(tx, event)
        except Exception as exc:  # the live call must go on; the reason names the bug
            return Step(state, (), f"internal error on {kind.__name__}: {exc!r}")
        if reason is not None:
            return Step(state, (), reason)
        s = tx.s
        phase = _phase_of(s)
        if phase is not s.phase:
            s = replace(s, phase=phase)
        if tx.save:
            tx.cmds.append(SaveSession())
        return Step(s, tuple(tx.cmds))

    # -- call lifecycle --------------------------------------------------------------------

    def _on_call_started(self, tx: _Tx, ev: CallStarted) -> str | None:
        s = tx.s
        if s.status.started:
            return "call already started"
        agent = self._agents.get(s.agent) or self._agents[self.graph.start]
        tx.s = replace(s, agent=agent.name, status=replace(s.status, started=True))
        tx.save = True
        if not s.history:  # a resumed call (media reconnect) was greeted already
            self._say(tx, agent.greeting, interruptible=agent.greeting_interruptible)
        self._settle(tx, ev.at_ms)
        return None

    def _on_call_ended(self, tx: _Tx, ev: CallEnded) -> str | None:
        s = tx.s
        if s.status.end_reason:
            tx.save = True
            return None
        at = ev.at_ms
        self._seal(tx)
        if s.response is not None:
            self._abort_response(tx, "call ended")
        reply = tx.s.reply
        if reply is not None:
            if reply.played < len(reply.clauses):
                heard, _rest = self._split_heard(reply)
                self._commit_assistant(tx, reply.agent, heard, True, at)
            else:
                self._commit_reply_text(tx, at)
            tx.s = replace(tx.s, reply=None)
        if tx.s.resume is not None:
            self._commit_resume(tx, at)
        deferred = tx.s.user.deferred
        if deferred:
            self._add_user_message(tx, deferred, at)
            self._emit(tx, TranscriptEntry("user", deferred, at, tx.s.agent))
        self._end(tx, ev.reason or "remote_closed", None)
        return None

    def _on_transfer_result(self, tx: _Tx, ev: TransferResult) -> str | None:
        s = tx.s
        if not s.status.transferring:
            return "no transfer pending"
        if ev.accepted:
            self._end(tx, "transferred", None)
            return None
        tx.s = replace(
            s,
            status=replace(
                s.status, transferring=False, errors=(*s.status.errors, "transfer failed")
            ),
        )
        self._say(tx, self._agents[s.agent].fallback)
        self._settle(tx, ev.at_ms)
        return None

    # -- the caller ------------------------------------------------------------------------

    def _on_speech_started(self, tx: _Tx, ev: UserSpeechStarted) -> str | None:
        s = tx.s
        u = s.user
        if u.speaking:
            return "caller already speaking"
        reply = s.reply
        over = (
            reply.clauses[reply.played].speech_id
            if reply is not None and reply.played < len(reply.clauses)
            else ""
        )
        tx.s = replace(s, user=UserState(True, ev.at_ms, "", False, u.deferred, u.dtmf, over))
        if s.timers:
            self._disarm(tx, _NO_INPUT)
        if reply is not None and over:
            delay = self._barge[reply.agent].min_speech_ms
            if delay > 0:
                self._arm(tx, _BARGE_IN, delay)
            else:
                self._check_barge_in(tx, ev.at_ms)
        return None

    def _on_speech_stopped(self, tx: _Tx, ev: UserSpeechStopped) -> str | None:
        if not tx.s.user.speaking:
            return "caller was not speaking"
        self._check_barge_in(tx, ev.at_ms)
        s = tx.s
        tx.s = replace(s, user=replace(s.user, speaking=False))
        if s.timers:
            self._disarm(tx, _BARGE_IN)
        if self._idle(tx.s):
            self._arm(tx, _NO_INPUT, self.policy.no_input.no_input_timeout_ms)
        return None

    def _on_partial(self, tx: _Tx, ev: PartialTranscript) -> str | None:
        s = tx.s
        tx.s = replace(s, user=replace(s.user, partial=ev.text))
        self._check_barge_in(tx, ev.at_ms)
        return None

    def _on_final(self, tx: _Tx, ev: FinalTranscript) -> str | None:
        text = " ".join(ev.text.split())
        if not text:
            return "empty transcript"
        s = tx.s
        if s.status.transferring:
            return "transfer pending"
        if s.resume is not None and self._barge[s.resume.agent].is_backchannel(text):
            return "backchannel during the false-interruption window"
        tx.s = replace(s, user=replace(s.user, partial=""))
        return self._user_input(tx, text, ev.at_ms, check_words=True)

    def _on_dtmf(self, tx: _Tx, ev: DtmfDigit) -> str | None:
        digit = ev.digit.strip().upper()
        if len(digit) != 1 or digit not in _DTMF_KEYS:
            return f"unknown DTMF digit {ev.digit!r}"
        s = tx.s
        if s.status.transferring:
            return "transfer pending"
        pol = self.policy.dtmf
        self._disarm(tx, _NO_INPUT)
        if digit == pol.clear_key:
            if not s.user.dtmf:
                return "no digits to clear"
            tx.s = replace(tx.s, user=replace(tx.s.user, dtmf=""))
            self._disarm(tx, _DTMF)
            return None
        if digit == pol.submit_key:
            digits = s.user.dtmf
            if not digits:
                return "no digits to submit"
            tx.s = replace(tx.s, user=replace(tx.s.user, dtmf=""))
            self._disarm(tx, _DTMF)
            return self._user_input(tx, digits, ev.at_ms, check_words=False)
        digits = (s.user.dtmf + digit)[-pol.max_digits :]
        tx.s = replace(tx.s, user=replace(tx.s.user, dtmf=digits))
        self._arm(tx, _DTMF, pol.inter_digit_timeout_ms)
        reply = tx.s.reply
        clause = reply.playing if reply is not None else None
        if reply is not None and clause is not None and self._can_barge(reply, clause):
            self._barge_in(tx, ev.at_ms, "dtmf")
        return None

    def _user_input(self, tx: _Tx, text: str, at: float, *, check_words: bool) -> str | None:
        """A finished piece of caller input: barge in if needed, then take the turn."""
        reply = tx.s.reply
        clause = reply.playing if reply is not None else None
        if reply is not None and clause is not None and self._can_barge(reply, clause):
            if check_words:
                pol = self._barge[reply.agent]
                if pol.is_backchannel(text):
                    return "backchannel while the agent speaks"
                if pol.min_words > 0 and len(transcript_words(text)) < pol.min_words:
                    return "too few words to interrupt"
            if not tx.s.user.barged_in:
                self._barge_in(tx, at, "barge_in")
        self._submit(tx, text, at)
        return None

    def _can_barge(self, reply: Reply, clause: Clause) -> bool:
        # Speech that ends in a hang-up or a transfer is never cut: the action must follow.
        return clause.interruptible and reply.then == _LISTEN

    def _check_barge_in(self, tx: _Tx, at: float) -> None:
        s = tx.s
        u = s.user
        if not u.speaking or u.barged_in:
            return
        reply = s.reply
        if reply is None:
            return
        clause = reply.playing
        if clause is None or not self._can_barge(reply, clause):
            return
        if not any(c.speech_id == u.over_speech for c in reply.clauses):
            return  # the speech began before this reply: the caller's own turn, not a barge-in
        if self._barge[reply.agent].should_interrupt(at - u.started_ms, u.partial):
            self._barge_in(tx, at, "barge_in")

    def _barge_in(self, tx: _Tx, at: float, reason: str) -> None:
        """Stop playback and cancel the response in one step; keep only the heard words."""
        s = tx.s
        reply = s.reply
        assert reply is not None  # noqa: S101 - callers check
        self._seal(tx)
        tx.cmds.append(StopPlayback(reason))
        if tx.s.response is not None:
            self._abort_response(tx, "interrupted by the caller")
        self._disarm(tx, _BARGE_IN)
        heard, rest = self._split_heard(reply)
        s = tx.s
        tx.s = replace(
            s,
            reply=None,
            user=replace(s.user, barged_in=True),
            status=replace(s.status, barge_ins=s.status.barge_ins + 1),
        )
        pol = self._barge[reply.agent]
        if pol.resume_false_interruption and rest:
            tx.s = replace(tx.s, resume=Resume(reply.agent, heard, rest, reply.then, reply.target))
            self._arm(tx, _FALSE_INTERRUPTION, pol.false_interruption_timeout_ms)
        else:
            self._commit_assistant(tx, reply.agent, heard, True, at)
        tx.save = True

    def _split_heard(self, reply: Reply) -> tuple[str, str]:
        """(heard, unplayed) parts of the reply's uncommitted message, at word boundaries."""
        cut = self._heard_len(reply)
        committed = reply.committed
        if cut > committed:
            heard = (reply.prefix + reply.text[committed:cut]).strip()
            rest = reply.text[cut:] + reply.buffer
        else:
            heard = reply.prefix.strip()
            rest = reply.text[committed:] + reply.buffer
        return heard, " ".join(rest.split())

    def _heard_len(self, reply: Reply) -> int:
        """Index in ``reply.text`` just after the last word the caller heard in full."""
        done = sum(len(c.text) for c in reply.clauses[: reply.played])
        clause = reply.playing
        if clause is None:
            return done
        text = clause.text
        if reply.playing_text is not None:
            return done + _end_of_words(text, len(reply.playing_text.split()))
        total = reply.playing_total_ms
        if not total:
            total = len(text.strip()) * self.policy.speech.ms_per_char_estimate
        fraction = min(1.0, reply.playing_ms / total) if total > 0 else 0.0
        return done + _end_of_words_within(text, int(len(text) * fraction))

    def _submit(self, tx: _Tx, text: str, at: float) -> None:
        """Make ``text`` a user turn (or merge it into the open one) and start the response."""
        s = tx.s
        reply = s.reply
        if reply is not None and reply.played < len(reply.clauses):
            # Only uninterruptible speech is still playing here: handle the input after it.
            deferred = f"{s.user.deferred} {text}".strip()
            tx.s = replace(s, user=replace(s.user, deferred=deferred))
            return
        if s.resume is not None:
            self._commit_resume(tx, at)
        self._disarm(tx, _NO_INPUT)
        s = tx.s
        turn = s.turn
        resp = s.response
        endpointing = self._endpointing[s.agent]
        if (
            turn.open
            and resp is not None
            and not resp.spoke
            and not resp.tool_round
            and resp.round == 1
            and s.history
            and s.history[-1].role is Role.USER
            and endpointing.merges(turn.final_ms, at)
        ):
            merged = f"{turn.text} {text}"
            tx.cmds.append(CancelResponse(resp.response_id))
            last = replace(s.history[-1], text=merged)
            tx.s = replace(
                s,
                response=None,
                # The cancelled response spoke nothing; drop the text it had buffered.
                reply=s.reply if s.reply is not None and s.reply.clauses else None,
                history=(*s.history[:-1], last),
                turn=replace(turn, text=merged, final_ms=at),
            )
            self._start_response(tx)
            self._arm_end_of_turn(tx)
            tx.save = True
            return
        self._seal(tx)
        if tx.s.response is not None:
            self._abort_response(tx, "superseded by a new caller turn")
        if tx.s.reply is not None:
            self._commit_reply_text(tx, at)
            tx.s = replace(tx.s, reply=None)
        self._add_user_message(tx, text, at)
        s = tx.s
        tx.s = replace(
            s,
            turn=TurnState(True, text, at, 0, 0),
            status=replace(s.status, reprompts=0, user_turns=s.status.user_turns + 1),
        )
        self._start_response(tx)
        self._arm_end_of_turn(tx)

    def _arm_end_of_turn(self, tx: _Tx) -> None:
        grace = self._endpointing[tx.s.agent].end_of_turn_grace_ms
        if grace > 0:
            self._arm(tx, _END_OF_TURN, grace)
        else:
            self._seal(tx)

    def _seal(self, tx: _Tx) -> None:
        """Close the open user turn: no more merging; its transcript line is emitted."""
        s = tx.s
        turn = s.turn
        if not turn.open:
            return
        tx.s = replace(s, turn=replace(turn, open=False))
        self._disarm(tx, _END_OF_TURN)
        self._emit(tx, TranscriptEntry("user", turn.text, turn.final_ms, s.agent))

    # -- the model -------------------------------------------------------------------------

    def _start_response(self, tx: _Tx) -> None:
        s = tx.s
        seq = s.seq + 1
        rid = f"r{seq}"
        name = s.agent
        agent = self._agents[name]
        tx.cmds.append(
            StartResponse(
                rid,
                name,
                (self._system[name], *s.history),
                agent.tools,
                self._handoff_tools[name],
                self._options[name],
            )
        )
        tx.s = replace(s, seq=seq, response=ResponseState(rid, s.turn.tool_rounds + 1))

    def _current(self, tx: _Tx, response_id: str) -> ResponseState | None:
        resp = tx.s.response
        if resp is None or resp.response_id != response_id:
            return None
        return resp

    def _on_delta(self, tx: _Tx, ev: ResponseTextDelta) -> str | None:
        resp = self._current(tx, ev.response_id)
        if resp is None:
            return "unknown or cancelled response"
        if not resp.streaming:
            return "response already completed"
        if not ev.text:
            return "empty text delta"
        s = tx.s
        reply = s.reply
        if reply is None:
            reply = Reply(agent=s.agent)
        clauses, rest = self._segmenter.cut(reply.buffer + ev.text)
        tx.s = replace(s, reply=replace(reply, buffer=rest))
        if clauses:
            for clause in clauses:
                self._add_clause(tx, clause, resp.response_id, True)
            self._mark_spoke(tx)
        return None

    def _mark_spoke(self, tx: _Tx) -> None:
        resp = tx.s.response
        if resp is not None and not resp.spoke:
            tx.s = replace(tx.s, response=replace(resp, spoke=True))
        self._seal(tx)

    def _flush(self, tx: _Tx, response_id: str | None) -> None:
        """Speak what the segmenter still holds (the response's text is complete)."""
        reply = tx.s.reply
        if reply is None or not reply.buffer:
            return
        rest = reply.buffer
        tx.s = replace(tx.s, reply=replace(reply, buffer=""))
        if rest.strip():
            self._add_clause(tx, rest, response_id, True)
            self._mark_spoke(tx)

    def _on_tool_calls(self, tx: _Tx, ev: ToolCallsRequested) -> str | None:
        resp = self._current(tx, ev.response_id)
        if resp is None:
            return "unknown or cancelled response"
        if not resp.streaming:
            return "response already completed"
        if not ev.calls:
            return "no tool calls"
        at = ev.at_ms
        self._seal(tx)
        self._flush(tx, resp.response_id)
        s = tx.s
        current = s.response or resp
        if not current.tool_round and not self.policy.tools.allows_round(s.turn.tool_rounds):
            self._commit_reply_text(tx, at)
            tx.cmds.append(CancelResponse(resp.response_id))
            self._record_error(tx, "too many tool rounds in one turn", at)
            tx.s = replace(tx.s, response=None)
            self._say(tx, self._agents[tx.s.agent].apology)
            self._settle(tx, at)
            return None
        # A second batch of calls in the same response belongs to the same round.
        rounds = s.turn.tool_rounds + (0 if current.tool_round else 1)
        tx.s = replace(
            s,
            turn=replace(s.turn, tool_rounds=rounds),
            response=replace(current, tool_round=True),
        )
        self._commit_reply_text(tx, at, ev.calls)
        pending: list[ToolCall] = []
        timeout = self.policy.tools.tool_timeout_ms
        for call in ev.calls:
            if call.name.startswith(HANDOFF_TOOL_PREFIX):
                reason = call.arguments.get("reason", "")
                ok, content = self._handoff(
                    tx, call.name[len(HANDOFF_TOOL_PREFIX) :], str(reason or ""), at
                )
                self._add_tool_message(tx, call, content, not ok, at)
            else:
                pending.append(call)
                tx.cmds.append(RunTool(resp.response_id, call, timeout))
        latest = tx.s.response
        if latest is not None and pending:
            tx.s = replace(
                tx.s, response=replace(latest, pending_calls=(*latest.pending_calls, *pending))
            )
        return None

    def _on_tool_completed(self, tx: _Tx, ev: ToolCompleted) -> str | None:
        resp = self._current(tx, ev.response_id)
        if resp is None:
            return "unknown or cancelled response"
        result = ev.result
        call = next((c for c in resp.pending_calls if c.id == result.call_id), None)
        if call is None:
            return "unknown tool call id"
        at = ev.at_ms
        pending = tuple(c for c in resp.pending_calls if c is not call)
        tx.s = replace(tx.s, response=replace(resp, pending_calls=pending))
        self._add_tool_message(tx, call, result.content, result.is_error, at)
        action = result.action
        if isinstance(action, HandOff):
            self._handoff(tx, action.agent, action.reason, at)
        elif isinstance(action, TransferAction):
            current = tx.s.response
            if current is not None:
                tx.s = replace(
                    tx.s, response=replace(current, then=_TRANSFER, target=action.target)
                )
        elif isinstance(action, HangUpAction):
            current = tx.s.response
            if current is not None:
                tx.s = replace(tx.s, response=replace(current, then=_HANG_UP, target="tool"))
        self._continue(tx, at)
        return None

    def _on_response_completed(self, tx: _Tx, ev: ResponseCompleted) -> str | None:
        resp = self._current(tx, ev.response_id)
        if resp is None:
            return "unknown or cancelled response"
        if not resp.streaming:
            return "response already completed"
        self._seal(tx)
        self._flush(tx, resp.response_id)
        s = tx.s
        current = s.response or resp
        tx.s = replace(
            s, response=replace(current, streaming=False), status=replace(s.status, failures=0)
        )
        self._continue(tx, ev.at_ms)
        return None

    def _continue(self, tx: _Tx, at: float) -> None:
        """After a response round ended and its tools finished: next round, a line, or listen."""
        resp = tx.s.response
        if resp is None or resp.streaming or resp.pending_calls:
            return
        tx.s = replace(tx.s, response=None)
        agent = self._agents[tx.s.agent]
        if not resp.tool_round:
            self._settle(tx, at)
            return
        if resp.then == _HANG_UP:
            self._say(tx, agent.goodbye, interruptible=False, then=_HANG_UP, target=resp.target)
        elif resp.then == _TRANSFER:
            self._say(
                tx, agent.transfer_line, interruptible=False, then=_TRANSFER, target=resp.target
            )
        elif resp.handoff_greeting:
            self._say(tx, agent.handoff_greeting)
        else:
            self._start_response(tx)
            return
        self._settle(tx, at)

    def _on_response_failed(self, tx: _Tx, ev: ResponseFailed) -> str | None:
        resp = self._current(tx, ev.response_id)
        if resp is None:
            return "unknown or cancelled response"
        at = ev.at_ms
        self._seal(tx)
        reply = tx.s.reply
        if reply is not None and reply.buffer:
            tx.s = replace(tx.s, reply=replace(reply, buffer=""))
        if resp.pending_calls:
            self._abort_response(tx, "response failed")
        else:
            tx.s = replace(tx.s, response=None)
        self._failure(tx, f"response_failed:{ev.error_code}", at, ev.error_code)
        return None

    def _on_provider_failed(self, tx: _Tx, ev: ProviderFailed) -> str | None:
        at = ev.at_ms
        reply = tx.s.reply
        clause = reply.playing if reply is not None else None
        if ev.port == "text_to_speech" and reply is not None and clause is not None:
            # Nothing more of this reply can be heard: keep what was heard and move on.
            tx.cmds.append(StopPlayback("provider_failed"))
            if tx.s.response is not None:
                self._abort_response(tx, "speech synthesis failed")
            heard, _rest = self._split_heard(reply)
            tx.s = replace(tx.s, reply=None)
            self._commit_assistant(tx, reply.agent, heard, True, at)
        self._failure(tx, f"{ev.port}:{ev.error_code}", at, None)
        return None

    def _failure(self, tx: _Tx, error: str, at: float, response_code: str | None) -> None:
        """Count a provider failure; escalate at the limit, else speak the fallback line."""
        s = tx.s
        failures = s.status.failures + 1
        tx.s = replace(s, status=replace(s.status, failures=failures))
        self._record_error(tx, error, at)
        agent = self._agents[tx.s.agent]
        if self.policy.failures.should_escalate(failures):
            target = self.policy.failures.transfer_target
            if target:
                self._say(
                    tx, agent.transfer_line, interruptible=False, then=_TRANSFER, target=target
                )
            else:
                self._say(tx, agent.goodbye, interruptible=False, then=_HANG_UP, target="failures")
        elif response_code is not None:
            line = agent.safe_reply if response_code == "content_filtered" else agent.fallback
            self._say(tx, line)
        else:
            self._settle(tx, at)
            return
        self._settle(tx, at)

    def _abort_response(self, tx: _Tx, why: str) -> None:
        """Cancel the response in flight; answer its pending tool calls so history stays valid."""
        resp = tx.s.response
        if resp is None:
            return
        tx.cmds.append(CancelResponse(resp.response_id))
        tx.s = replace(tx.s, response=None)
        for call in resp.pending_calls:
            self._add_tool_message(tx, call, f"cancelled: {why}", True, None)

    # -- handoffs --------------------------------------------------------------------------

    def _handoff(self, tx: _Tx, target: str, reason: str, at: float) -> tuple[bool, str]:
        s = tx.s
        source = s.agent
        if target not in self._agents:
            self._record_error(tx, f"unknown handoff target {target!r}", at)
            return False, f"Handoff failed: there is no agent named {target!r}."
        if target == source:
            return True, f"The {target} agent is already active."
        if not self.policy.handoffs.allows_handoff(s.turn.handoffs):
            self._record_error(tx, f"handoff to {target!r} refused: too many this turn", at)
            return False, "Handoff refused: too many handoffs in this turn."
        if s.reply is not None:
            self._commit_reply_text(tx, at)
            reply = tx.s.reply
            if reply is not None:
                tx.s = replace(tx.s, reply=replace(reply, agent=target))
        s = tx.s
        resp = s.response
        if resp is not None and self._agents[target].handoff_greeting:
            resp = replace(resp, handoff_greeting=True)
        tx.s = replace(
            s, agent=target, response=resp, turn=replace(s.turn, handoffs=s.turn.handoffs + 1)
        )
        tx.cmds.append(HandOffTo(source, target, reason))
        data: JsonObject = {"event": "handoff", "from": source, "to": target, "reason": reason}
        self._emit(tx, TranscriptEntry("event", f"handoff to {target}", at, target, data=data))
        return True, f"Handed off to the {target} agent."

    # -- speech ----------------------------------------------------------------------------

    def _say(
        self,
        tx: _Tx,
        text: str,
        *,
        interruptible: bool = True,
        then: str | None = None,
        target: str = "",
    ) -> None:
        """Speak a fixed line as the active agent (appended to the reply being spoken)."""
        if tx.s.resume is not None:
            # A new line supersedes the interrupted message: it will not be resumed.
            self._commit_resume(tx, None)
        s = tx.s
        reply = s.reply
        if reply is None:
            reply = Reply(agent=s.agent)
        elif reply.agent != s.agent:
            self._commit_reply_text(tx, None)
            reply = replace(tx.s.reply or reply, agent=s.agent)
        if then is not None:
            reply = replace(reply, then=then, target=target)
        tx.s = replace(tx.s, reply=reply)
        line = text.strip()
        if line:
            self._add_clause(tx, line, None, interruptible)

    def _add_clause(self, tx: _Tx, text: str, response_id: str | None, interruptible: bool) -> None:
        s = tx.s
        reply = s.reply
        assert reply is not None  # noqa: S101 - callers create the reply first
        if reply.text and not reply.text[-1].isspace() and not text[0].isspace():
            text = " " + text
        seq = s.seq + 1
        speech_id = f"s{seq}"
        clause = Clause(speech_id, text, interruptible, response_id)
        tx.s = replace(
            s,
            seq=seq,
            reply=replace(reply, text=reply.text + text, clauses=(*reply.clauses, clause)),
        )
        voice = self._agents[reply.agent].voice if reply.agent in self._agents else Voice()
        tx.cmds.append(Speak(speech_id, text.strip(), interruptible, response_id, voice))

    def _on_progress(self, tx: _Tx, ev: PlaybackProgress) -> str | None:
        s = tx.s
        reply = s.reply
        if reply is None:
            return "no speech playing"
        played = reply.played
        clauses = reply.clauses
        if played >= len(clauses):
            return "all speech already played"
        if clauses[played].speech_id != ev.speech_id:
            index = self._clause_index(reply, ev.speech_id)
            if index is None:
                return "progress for an old or unknown speech"
            played = index
        total = ev.duration_ms if ev.duration_ms is not None else reply.playing_total_ms
        if played != reply.played:
            total = ev.duration_ms
        # The hottest path of a call (one event per 20 ms frame played): positional
        # constructors instead of dataclasses.replace, which inspects every field.
        reply = Reply(
            reply.agent,
            reply.then,
            reply.target,
            reply.prefix,
            reply.text,
            reply.buffer,
            reply.committed,
            clauses,
            played,
            ev.played_ms,
            ev.played_text,
            total,
        )
        tx.s = SessionState(
            s.call_id,
            s.phase,
            s.agent,
            s.history,
            s.seq,
            s.response,
            reply,
            s.resume,
            s.user,
            s.turn,
            s.timers,
            s.status,
        )
        if s.user.speaking and not s.user.barged_in:
            self._check_barge_in(tx, ev.at_ms)
        return None

    def _clause_index(self, reply: Reply, speech_id: str) -> int | None:
        for index in range(reply.played, len(reply.clauses)):
            if reply.clauses[index].speech_id == speech_id:
                return index
        return None

    def _on_playback_completed(self, tx: _Tx, ev: PlaybackCompleted) -> str | None:
        reply = tx.s.reply
        if reply is None:
            return "no speech playing"
        index = self._clause_index(reply, ev.speech_id)
        if index is None:
            return "completion for an old or unknown speech"
        reply = replace(
            reply, played=index + 1, playing_ms=0.0, playing_text=None, playing_total_ms=None
        )
        tx.s = replace(tx.s, reply=reply)
        if reply.played >= len(reply.clauses):
            self._settle(tx, ev.at_ms)
        return None

    def _settle(self, tx: _Tx, at: float) -> None:
        """When nothing is playing and no response is in flight, finish the reply and move on."""
        s = tx.s
        if s.status.end_reason or s.response is not None or s.status.transferring:
            return
        reply = s.reply
        if reply is not None:
            if reply.played < len(reply.clauses):
                return
            self._commit_reply_text(tx, at)
            tx.s = replace(tx.s, reply=None)
            then, target = reply.then, reply.target
        else:
            if s.resume is not None:
                return
            then, target = _LISTEN, ""
        if then == _HANG_UP:
            self._end(tx, target or "hang_up", HangUp(target))
        elif then == _TRANSFER:
            self._disarm(tx, _NO_INPUT)
            tx.s = replace(tx.s, status=replace(tx.s.status, transferring=True))
            escalated = self.policy.failures.should_escalate(tx.s.status.failures)
            tx.cmds.append(TransferCall(target, "escalation" if escalated else "tool"))
            data: JsonObject = {"event": "transfer", "target": target}
            self._emit(tx, TranscriptEntry("event", "transfer", at, tx.s.agent, data=data))
        else:
            deferred = tx.s.user.deferred
            if deferred:
                tx.s = replace(tx.s, user=replace(tx.s.user, deferred=""))
                self._submit(tx, deferred, at)
            elif not tx.s.user.speaking:
                self._arm(tx, _NO_INPUT, self.policy.no_input.no_input_timeout_ms)

    def _idle(self, s: SessionState) -> bool:
        return (
            s.reply is None
            and s.response is None
            and s.resume is None
            and not s.user.speaking
            and not s.user.dtmf
            and not s.user.deferred
            and not s.status.transferring
        )

    # -- timers ----------------------------------------------------------------------------

    def _on_timer(self, tx: _Tx, ev: TimerFired) -> str | None:
        s = tx.s
        key = (ev.name, ev.token)
        if key not in s.timers:
            return "stale or unknown timer"
        tx.s = replace(s, timers=tuple(t for t in s.timers if t != key))
        at = ev.at_ms
        name = ev.name
        if name == _BARGE_IN:
            self._check_barge_in(tx, at)
        elif name == _END_OF_TURN:
            self._seal(tx)
        elif name == _FALSE_INTERRUPTION:
            self._on_false_interruption(tx, at)
        elif name == _NO_INPUT:
            self._on_no_input(tx, at)
        elif name == _DTMF:
            digits = tx.s.user.dtmf
            if digits:
                tx.s = replace(tx.s, user=replace(tx.s.user, dtmf=""))
                self._user_input(tx, digits, at, check_words=False)
        return None

    def _on_false_interruption(self, tx: _Tx, at: float) -> None:
        resume = tx.s.resume
        if resume is None:
            return
        if tx.s.user.speaking:
            # Still talking without words yet: wait for the final or the end of the speech.
            self._arm(
                tx, _FALSE_INTERRUPTION, self._barge[resume.agent].false_interruption_timeout_ms
            )
            return
        prefix = resume.heard + " " if resume.heard else ""
        tx.s = replace(
            tx.s,
            resume=None,
            reply=Reply(resume.agent, resume.then, resume.target, prefix),
        )
        for clause in self._segmenter.segment(resume.rest):
            if clause.strip():
                self._add_clause(tx, clause, None, True)
        data: JsonObject = {"event": "false_interruption"}
        self._emit(tx, TranscriptEntry("event", "resumed", at, resume.agent, data=data))

    def _on_no_input(self, tx: _Tx, at: float) -> None:
        s = tx.s
        if not self._idle(s):
            return
        agent = self._agents[s.agent]
        if self.policy.no_input.should_reprompt(s.status.reprompts):
            tx.s = replace(s, status=replace(s.status, reprompts=s.status.reprompts + 1))
            self._say(tx, agent.reprompt)
        else:
            self._say(tx, agent.goodbye, interruptible=False, then=_HANG_UP, target="no_input")
        self._settle(tx, at)

    def _arm(self, tx: _Tx, name: str, delay_ms: float) -> None:
        s = tx.s
        seq = s.seq + 1
        timers = tuple(t for t in s.timers if t[0] != name) + ((name, seq),)
        tx.s = replace(s, seq=seq, timers=timers)
        tx.cmds.append(StartTimer(name, delay_ms, seq))

    def _disarm(self, tx: _Tx, name: str) -> None:
        timers = tx.s.timers
        for timer in timers:
            if timer[0] == name:
                tx.s = replace(tx.s, timers=tuple(t for t in timers if t[0] != name))
                tx.cmds.append(CancelTimer(name))
                return

    def _end(self, tx: _Tx, reason: str, command: Command | None) -> None:
        s = tx.s
        for name, _token in s.timers:
            tx.cmds.append(CancelTimer(name))
        if command is not None:
            tx.cmds.append(command)
        tx.s = replace(s, timers=(), status=replace(s.status, end_reason=reason))
        tx.save = True

    # -- history and transcript ------------------------------------------------------------

    def _emit(self, tx: _Tx, entry: TranscriptEntry) -> None:
        if entry.kind != "user" and tx.s.turn.open:
            # Any later line closes the open turn first, so lines stay in time order.
            self._seal(tx)
        tx.cmds.append(EmitTranscript(entry))
        tx.save = True

    def _record_error(self, tx: _Tx, error: str, at: float) -> None:
        s = tx.s
        tx.s = replace(s, status=replace(s.status, errors=(*s.status.errors, error)))
        data: JsonObject = {"event": "error", "error": error}
        self._emit(tx, TranscriptEntry("event", error, at, s.agent, data=data))

    def _add_user_message(self, tx: _Tx, text: str, at: float) -> None:
        s = tx.s
        message = ChatMessage(Role.USER, text, agent=s.agent)
        tx.s = replace(s, history=(*s.history, message))
        tx.save = True

    def _add_tool_message(
        self, tx: _Tx, call: ToolCall, content: str, is_error: bool, at: float | None
    ) -> None:
        s = tx.s
        message = ChatMessage(Role.TOOL, content, tool_call_id=call.id, agent=s.agent)
        tx.s = replace(s, history=(*s.history, message))
        data: JsonObject = {"name": call.name, "call_id": call.id, "is_error": is_error}
        self._emit(
            tx, TranscriptEntry("tool", content, tx.at if at is None else at, s.agent, data=data)
        )

    def _commit_assistant(
        self, tx: _Tx, agent: str, text: str, interrupted: bool, at: float | None
    ) -> None:
        """Store an assistant message and emit its transcript line (nothing when empty)."""
        self._seal(tx)
        if not text:
            return
        s = tx.s
        message = ChatMessage(Role.ASSISTANT, text, agent=agent, interrupted=interrupted)
        tx.s = replace(
            s,
            history=(*s.history, message),
            status=replace(s.status, agent_turns=s.status.agent_turns + 1),
        )
        self._emit(
            tx, TranscriptEntry("assistant", text, tx.at if at is None else at, agent, interrupted)
        )

    def _commit_reply_text(
        self, tx: _Tx, at: float | None, tool_calls: tuple[ToolCall, ...] = ()
    ) -> None:
        """Store the reply's not yet stored text in full (played or queued to play)."""
        s = tx.s
        reply = s.reply
        agent = reply.agent if reply is not None else s.agent
        text = ""
        if reply is not None:
            text = " ".join((reply.prefix + reply.text[reply.committed :]).split())
            tx.s = replace(s, reply=replace(reply, prefix="", committed=len(reply.text)))
        if tool_calls:
            self._seal(tx)
            s = tx.s
            message = ChatMessage(Role.ASSISTANT, text, tool_calls, agent=agent)
            tx.s = replace(s, history=(*s.history, message))
            tx.save = True
            if text:
                tx.s = replace(
                    tx.s, status=replace(tx.s.status, agent_turns=tx.s.status.agent_turns + 1)
                )
                self._emit(
                    tx, TranscriptEntry("assistant", text, tx.at if at is None else at, agent)
                )
        else:
            self._commit_assistant(tx, agent, text, False, at)

    def _commit_resume(self, tx: _Tx, at: float | None) -> None:
        resume = tx.s.resume
        if resume is None:
            return
        tx.s = replace(tx.s, resume=None)
        self._disarm(tx, _FALSE_INTERRUPTION)
        self._commit_assistant(tx, resume.agent, resume.heard, True, at)


def _handoff_spec(target: HandoffTarget) -> ToolSpec:
    description = target.description or f"Hand the conversation to the {target.name} agent."
    return ToolSpec(
        handoff_tool_name(target.name),
        description,
        {
            "type": "object",
            "properties": {
                "reason": {"type": "string", "description": "Why the caller needs this agent."}
            },
        },
    )


# -- serialisation -------------------------------------------------------------------------


def _encode(value: Any) -> JsonValue:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value) if f.init}
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _encode(item) for key, item in value.items()}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _build(cls: type[_D], data: Mapping[str, Any], **convert: Callable[[Any], Any]) -> _D:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if not f.init or f.name not in data:
            continue
        value = data[f.name]
        conv = convert.get(f.name)
        kwargs[f.name] = conv(value) if conv is not None and value is not None else value
    return cls(**kwargs)


def _decode_call(data: Mapping[str, Any]) -> ToolCall:
    return ToolCall(str(data["id"]), str(data["name"]), dict(data.get("arguments") or {}))


def _decode_message(data: Mapping[str, Any]) -> ChatMessage:
    return _build(
        ChatMessage,
        data,
        role=Role,
        tool_calls=lambda v: tuple(_decode_call(c) for c in v),
    )


def _decode_state(data: Mapping[str, Any]) -> SessionState:
    return _build(
        SessionState,
        data,
        phase=Phase,
        history=lambda v: tuple(_decode_message(m) for m in v),
        response=lambda v: _build(
            ResponseState, v, pending_calls=lambda c: tuple(_decode_call(x) for x in c)
        ),
        reply=lambda v: _build(Reply, v, clauses=lambda c: tuple(_build(Clause, x) for x in c)),
        resume=lambda v: _build(Resume, v),
        user=lambda v: _build(UserState, v),
        turn=lambda v: _build(TurnState, v),
        timers=lambda v: tuple((str(name), int(token)) for name, token in v),
        status=lambda v: _build(CallStatus, v, errors=tuple),
    )
