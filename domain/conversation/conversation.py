"""The conversation: ``step(state, event) -> (state, commands)`` and the handler table.

One handler per event type, each in the module of its concern (caller, barge-in, model,
tools, failures, playback, lifecycle); every handler works on one :class:`~.transaction.Tx`
and returns None, or a no-op reason when the event does not fit. A handler that finished a
reply asks for settling, which runs here after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, TypeAlias

from domain.agents import AgentGraph
from domain.commands import SaveSession
from domain.conversation import (
    caller,
    consult,
    failures,
    lifecycle,
    playback,
    responses,
    screening,
    tools,
)
from domain.conversation.config import Config
from domain.conversation.state import Phase, SessionState, Step
from domain.conversation.transaction import Tx
from domain.events import (
    BeepDetected,
    CallEnded,
    CallStarted,
    ConsultResult,
    DtmfCollected,
    DtmfDigit,
    EndOfTurnPredicted,
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
from domain.policies import ConversationPolicy

Handler: TypeAlias = Callable[[Tx, Any], "str | None"]

HANDLERS: Mapping[type, Handler] = MappingProxyType(
    {
        CallStarted: lifecycle.on_call_started,
        CallEnded: lifecycle.on_call_ended,
        UserSpeechStarted: screening.guard(caller.on_speech_started, screening.on_speech_started),
        UserSpeechStopped: screening.guard(caller.on_speech_stopped, screening.on_speech_stopped),
        PartialTranscript: screening.guard(caller.on_partial, screening.on_partial),
        FinalTranscript: screening.guard(caller.on_final, screening.on_final),
        EndOfTurnPredicted: screening.guard(caller.on_end_of_turn, screening.on_other),
        DtmfDigit: screening.guard(caller.on_dtmf, screening.on_other),
        DtmfCollected: caller.on_dtmf_collected,
        BeepDetected: screening.on_beep,
        ConsultResult: consult.on_consult_result,
        ResponseTextDelta: responses.on_delta,
        ToolCallsRequested: tools.on_tool_calls,
        ToolCompleted: tools.on_tool_completed,
        ResponseCompleted: responses.on_response_completed,
        ResponseFailed: responses.on_response_failed,
        PlaybackProgress: playback.on_progress,
        PlaybackCompleted: playback.on_playback_completed,
        TimerFired: lifecycle.on_timer,
        ProviderFailed: failures.on_provider_failed,
        TransferResult: lifecycle.on_transfer_result,
    }
)
"""Event type -> handler; read-only."""


def phase_of(s: SessionState) -> Phase:
    """The phase ``s`` is in, derived from its parts."""
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


class Conversation:
    """Immutable conversation configuration plus the pure transition function.

    Args:
        graph: The agent graph; it is validated (tools are not checked here).
        policy: Conversation policies; defaults when None.

    Raises:
        AgentGraphError: The graph is invalid.

    Attributes:
        graph: The validated graph.
        policy: The policies in force.
    """

    def __init__(self, graph: AgentGraph, policy: ConversationPolicy | None = None) -> None:
        self._cfg = Config(graph, policy)
        self._handlers = dict(HANDLERS)  # a plain dict: the lookup runs on every event
        self.graph = self._cfg.graph
        self.policy = self._cfg.policy

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
        tx = Tx(self._cfg, state, event.at_ms)
        try:
            reason = handler(tx, event)
            if reason is None and tx.settling:
                lifecycle.settle(tx)
        except Exception as exc:  # the live call must go on; the reason names the bug
            return Step(state, (), f"internal error on {kind.__name__}: {exc!r}")
        if reason is not None:
            return Step(state, (), reason)
        s = tx.state
        phase = phase_of(s)
        if phase is not s.phase:
            s = replace(s, phase=phase)
        if tx.save:
            tx.cmds.append(SaveSession())
        return Step(s, tuple(tx.cmds))
