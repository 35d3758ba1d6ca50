"""The transaction of one step: the evolving state, the commands so far, and a narrow API.

Every handler works on a :class:`Tx`. It is the only place that appends commands, and it
owns the bookkeeping every concern shares: timers (arm, disarm), transcript lines (emit),
the user turn (seal), the history (commit the reply, a tool result, an error) and the end of
the call. A handler that finishes a reply asks for :meth:`Tx.settle`; the conversation runs
the settling after the handler returns, so no concern calls back into another to move on.
"""

from __future__ import annotations

from dataclasses import replace

from domain.commands import CancelResponse, CancelTimer, Command, EmitTranscript, StartTimer
from domain.commands import TimerName as Timer
from domain.conversation.config import Config
from domain.conversation.state import SessionState
from ports import ChatMessage, JsonObject, Role, ToolCall, TranscriptEntry

MAX_ERRORS = 32
"""Recorded errors kept in ``CallStatus.errors`` (the latest ones): a provider failing for the
whole call must not grow the state without limit."""


class Tx:
    """The working copy of one step.

    Args:
        cfg: The conversation's configuration.
        state: The state before the event.
        at: The event's time, ms.

    Attributes:
        cfg: The configuration.
        state: The evolving state.
        at: The event's time, ms.
        cmds: Commands so far, in order.
        save: A ``SaveSession`` is due at the end of the step.
        settling: :meth:`settle` was asked for.
    """

    __slots__ = ("at", "cfg", "cmds", "save", "settling", "state")

    def __init__(self, cfg: Config, state: SessionState, at: float) -> None:
        self.cfg = cfg
        self.state = state
        self.at = at
        self.cmds: list[Command] = []
        self.save = False
        self.settling = False

    def issue(self, command: Command) -> None:
        """Append ``command`` to the step's commands."""
        self.cmds.append(command)

    def settle(self) -> None:
        """Once the handler returns: finish the reply if nothing plays or is in flight."""
        self.settling = True

    # -- timers ------------------------------------------------------------------------------

    def arm(self, name: Timer, delay_ms: float) -> None:
        """Start (or restart) timer ``name``; a new token makes older firings stale."""
        s = self.state
        seq = s.seq + 1
        timers = tuple(t for t in s.timers if t[0] != name) + ((name, seq),)
        self.state = replace(s, seq=seq, timers=timers)
        self.cmds.append(StartTimer(name, delay_ms, seq))

    def disarm(self, name: Timer) -> None:
        """Cancel timer ``name`` if it runs."""
        timers = self.state.timers
        for timer in timers:
            if timer[0] == name:
                self.state = replace(self.state, timers=tuple(t for t in timers if t[0] != name))
                self.cmds.append(CancelTimer(name))
                return

    # -- transcript and history --------------------------------------------------------------

    def emit(self, entry: TranscriptEntry) -> None:
        """Emit a transcript line (any line but the user's closes the open turn first)."""
        if entry.kind != "user" and self.state.turn.open:
            # Any later line closes the open turn first, so lines stay in time order.
            self.seal()
        self.cmds.append(EmitTranscript(entry))
        self.save = True

    def seal(self) -> None:
        """Close the open user turn: no more merging; its transcript line is emitted."""
        s = self.state
        turn = s.turn
        if not turn.open:
            return
        self.state = replace(s, turn=replace(turn, open=False))
        self.disarm(Timer.END_OF_TURN)
        self.emit(TranscriptEntry("user", turn.text, turn.final_ms, s.agent))

    def record_error(self, error: str, at: float) -> None:
        """Keep ``error`` in the status (bounded) and emit it as an event line."""
        s = self.state
        errors = (*s.status.errors, error)[-MAX_ERRORS:]
        self.state = replace(s, status=replace(s.status, errors=errors))
        data: JsonObject = {"event": "error", "error": error}
        self.emit(TranscriptEntry("event", error, at, s.agent, data=data))

    def add_user_message(self, text: str) -> None:
        """Append a user message to the history (its line is emitted when sealed)."""
        s = self.state
        message = ChatMessage(Role.USER, text, agent=s.agent)
        self.state = replace(s, history=(*s.history, message))
        self.save = True

    def add_tool_message(
        self, call: ToolCall, content: str, is_error: bool, at: float | None
    ) -> None:
        """Append a tool result to the history and emit its line."""
        s = self.state
        message = ChatMessage(Role.TOOL, content, tool_call_id=call.id, agent=s.agent)
        self.state = replace(s, history=(*s.history, message))
        data: JsonObject = {"name": call.name, "call_id": call.id, "is_error": is_error}
        when = self.at if at is None else at
        self.emit(TranscriptEntry("tool", content, when, s.agent, data=data))

    def commit_assistant(self, agent: str, text: str, interrupted: bool, at: float | None) -> None:
        """Store an assistant message and emit its transcript line (nothing when empty)."""
        self.seal()
        if not text:
            return
        s = self.state
        message = ChatMessage(Role.ASSISTANT, text, agent=agent, interrupted=interrupted)
        self.state = replace(
            s,
            history=(*s.history, message),
            status=replace(s.status, agent_turns=s.status.agent_turns + 1),
        )
        when = self.at if at is None else at
        self.emit(TranscriptEntry("assistant", text, when, agent, interrupted))

    def commit_reply(self, at: float | None, tool_calls: tuple[ToolCall, ...] = ()) -> None:
        """Store the reply's not yet stored text in full (played or queued to play)."""
        s = self.state
        reply = s.reply
        agent = reply.agent if reply is not None else s.agent
        text = ""
        if reply is not None:
            text = " ".join((reply.prefix + reply.text[reply.committed :]).split())
            self.state = replace(s, reply=replace(reply, prefix="", committed=len(reply.text)))
        if not tool_calls:
            self.commit_assistant(agent, text, False, at)
            return
        self.seal()
        s = self.state
        message = ChatMessage(Role.ASSISTANT, text, tool_calls, agent=agent)
        self.state = replace(s, history=(*s.history, message))
        self.save = True
        if text:
            status = self.state.status
            self.state = replace(
                self.state, status=replace(status, agent_turns=status.agent_turns + 1)
            )
            when = self.at if at is None else at
            self.emit(TranscriptEntry("assistant", text, when, agent))

    def commit_resume(self, at: float | None) -> None:
        """Store the interrupted message's heard words: it will not be resumed."""
        resume = self.state.resume
        if resume is None:
            return
        self.state = replace(self.state, resume=None)
        self.disarm(Timer.FALSE_INTERRUPTION)
        self.commit_assistant(resume.agent, resume.heard, True, at)

    # -- the response and the call -----------------------------------------------------------

    def cancel_response(self, why: str) -> None:
        """Cancel the response in flight; answer its pending tool calls so history stays valid."""
        resp = self.state.response
        if resp is None:
            return
        self.cmds.append(CancelResponse(resp.response_id))
        self.state = replace(self.state, response=None)
        for call in resp.pending_calls:
            self.add_tool_message(call, f"cancelled: {why}", True, None)

    def end(self, reason: str, command: Command | None) -> None:
        """End the call: every timer is cancelled, ``command`` (a hang-up) issued."""
        s = self.state
        for name, _token in s.timers:
            self.cmds.append(CancelTimer(name))
        if command is not None:
            self.cmds.append(command)
        self.state = replace(s, timers=(), status=replace(s.status, end_reason=reason))
        self.save = True
