"""What clients and traces are told about the commands they show: messages, handoffs, transfers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain import commands as cmds
from ports import Participant, UpdateKind
from ports.tracing import CallTrace

Notify = Callable[..., None]
"""``CallRun.notify(kind, text="", *, data=None)``."""


def announce(command: cmds.Command, notify: Notify, trace: CallTrace, at_ms: float) -> None:
    """Observer updates and trace marks for ``command`` (others are ignored)."""
    match command:
        case cmds.EmitTranscript() if command.entry.kind == "assistant":
            entry = command.entry
            notify(UpdateKind.AGENT_MESSAGE, entry.text, data={"interrupted": entry.interrupted})
        case cmds.HandOffTo():
            trace.handoff(command.from_agent, command.to_agent, at_ms)
            data: dict[str, Any] = {
                "from": command.from_agent,
                "to": command.to_agent,
                "reason": command.reason,
            }
            notify(UpdateKind.HANDOFF, data=data)
        case cmds.TransferCall() | cmds.StartConsult():
            trace.transfer(Participant.parse(command.target).kind.value, at_ms)
            update: dict[str, Any] = {"target": command.target, "reason": command.reason}
            if isinstance(command, cmds.StartConsult):
                update["warm"] = True
            notify(UpdateKind.TRANSFER, data=update)
        case cmds.HangUp():
            trace.hang_up(at_ms)
