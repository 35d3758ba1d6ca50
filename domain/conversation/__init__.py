"""The conversation core: a pure state machine ``(state, event) -> (state, commands)``.

No asyncio, no I/O, no logging and no clock here (an architecture test checks the imports):
time arrives on events as monotonic ms. See docs/adr/0002-domain-as-a-pure-state-machine.md
and docs/adr/0004-conversation-package.md.

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

Layout, lowest first (each module imports only those above it):

* ``codec``, ``parts``, ``state``: frozen values and their JSON form; ``config``: the graph
  and policies looked up per agent.
* ``transaction``: :class:`~.transaction.Tx`, one step's state and commands with the shared
  operations (timers, transcript, seal, history commits, end of call).
* ``speech``: lines, clauses, heard words. ``failures``: provider failures and escalation.
  ``responses``: the model side. ``tools``: tool rounds and handoffs. ``barge_in``:
  barge-in and false interruption. ``caller``: the caller side. ``playback``: playback
  progress and completion. ``lifecycle``: start, end, transfers, timers, settling.
* ``conversation``: :class:`Conversation` and the handler table.
"""

from domain.commands import BARGE_IN_REASONS, StopReason, TimerName
from domain.conversation.conversation import Conversation, phase_of
from domain.conversation.failures import TEXT_TO_SPEECH
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
from domain.conversation.state import SCHEMA_VERSION, Phase, SessionState, Step
from domain.conversation.transaction import MAX_ERRORS

__all__ = [
    "BARGE_IN_REASONS",
    "MAX_ERRORS",
    "SCHEMA_VERSION",
    "TEXT_TO_SPEECH",
    "CallStatus",
    "Clause",
    "Conversation",
    "Phase",
    "Reply",
    "ResponseState",
    "Resume",
    "SessionState",
    "Step",
    "StopReason",
    "Then",
    "TimerName",
    "TurnState",
    "UserState",
    "phase_of",
]
