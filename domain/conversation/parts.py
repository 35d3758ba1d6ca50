"""The parts of the session state, all frozen values.

The reply being spoken, the response in flight, an interrupted message awaiting the
false-interruption decision, the caller's side, the user turn and the call-wide status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ports import ToolCall


class Then(StrEnum):
    """What follows a reply once it has played (was a bare string before schema 1's enum).

    LISTEN: the conversation goes on. HANG_UP: the call ends with ``HangUp``. TRANSFER: the
    call is transferred with ``TransferCall`` (or, for an agent with ``warm_transfer``, a
    consult starts with ``StartConsult``). COMPLETE_TRANSFER: the summary to the person
    consulted has played; ``CompleteTransfer`` connects them. Speech before any of these is
    never cut.
    """

    LISTEN = "listen"
    HANG_UP = "hang_up"
    TRANSFER = "transfer"
    COMPLETE_TRANSFER = "complete_transfer"


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
        then: What follows once it has played.
        target: Transfer target when ``then`` is :attr:`Then.TRANSFER`, or the hang-up
            reason when it is :attr:`Then.HANG_UP`.
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
    then: Then = Then.LISTEN
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
        then: An action a tool result asked for (:attr:`Then.LISTEN` for none).
        target: Transfer target (or hang-up reason) for that action.
    """

    response_id: str
    round: int = 1
    streaming: bool = True
    spoke: bool = False
    tool_round: bool = False
    pending_calls: tuple[ToolCall, ...] = ()
    handoff_greeting: bool = False
    then: Then = Then.LISTEN
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
    then: Then = Then.LISTEN
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
        turn_probability: The end-of-turn model's probability for the current pause, None
            when there is no judgement (no model, or the caller is speaking again).
        paused_ms: VAD end of speech of the pause ``turn_probability`` judges (while an
            outbound callee is screened: of their latest pause), ms.
        held: Final transcript text held because the pause was judged incomplete; the next
            final joins it, or it is taken when the endpointing delay runs out. While an
            outbound callee is screened: the finals of their first utterance so far.
        held_ms: When the latest final joined ``held``, ms.
        judging: The runtime's end-of-turn model is judging the latest pause: a final that
            arrives first is held until the judgement (or ``judgement_wait_ms``).
        dtmf_recognizing: A provider ``recognize`` is collecting keys: in-band tones are
            ignored (the provider reports them).
    """

    speaking: bool = False
    started_ms: float = 0.0
    partial: str = ""
    barged_in: bool = False
    deferred: str = ""
    dtmf: str = ""
    over_speech: str = ""
    turn_probability: float | None = None
    paused_ms: float = 0.0
    held: str = ""
    held_ms: float = 0.0
    judging: bool = False
    dtmf_recognizing: bool = False


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
        answered_by: Outbound calls: ``"screening"`` while the callee's first words are
            awaited, then ``"human"`` or ``"machine"`` (:class:`~domain.outbound.AnsweredBy`);
            "" for inbound calls.
        voicemail: On a machine: ``"greeting"`` (its greeting plays), ``"beep"`` (waiting
            for the beep), ``"message"`` (our message is being left).
        callee_spoke_ms: Outbound screening: VAD onset of the callee's first utterance, ms
            (None until they speak); its later speech after short pauses belongs to it.
        consulting: Warm transfer: the person consulted (set from ``StartConsult`` until
            the transfer completes or fails).
        transfer_reason: Why the transfer under way was asked for.
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
    answered_by: str = ""
    voicemail: str = ""
    callee_spoke_ms: float | None = None
    consulting: str = ""
    transfer_reason: str = ""
