"""How a test conversation runs: the drivers of its modes, one per media side.

A *mode* is a driver of the call runtime: ``text`` (the runtime with a text media side, as
``parley chat``) and ``voice`` (the runtime with audio through the fake engines and a manual
clock). Both run the same agent files, model and tools; a test chooses the mode with a string,
so a new mode (the realtime speech-to-speech runtime) is one more entry in :data:`MODES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Protocol

from adapters.memory import ManualClock
from bootstrap.testkit.recorder import Recorder
from domain.runtime import RuntimeConfig
from domain.session import Conversation
from ports import LanguageModel, ToolExecutor

__all__ = ["MODES", "Driver", "ModeError", "Until", "Wiring", "driver_for"]

Until = Literal["done", "agent_speaks"]
"""When a caller action returns: ``done`` once the conversation waits for the caller again
(every reply spoken, tools run); ``agent_speaks`` as soon as the agent's answer starts playing
(voice mode), so that the next action can talk over it."""


class ModeError(RuntimeError):
    """The action cannot happen in this mode (e.g. an interruption in text mode)."""


@dataclass(frozen=True, slots=True)
class Wiring:
    """What every driver runs.

    Attributes:
        conversation: The state machine over the agent graph and policies.
        llm: The language model.
        tools: The tool executor.
        config: Runtime tuning.
        call_id: The conversation's call id (tools see it).
        caller: The caller's number or id.
    """

    conversation: Conversation
    llm: LanguageModel
    tools: ToolExecutor
    config: RuntimeConfig
    call_id: str = "test-call"
    caller: str = "+15550100"


class Driver(Protocol):
    """One conversation in one mode. Time is virtual (``clock``, ms since the start)."""

    mode: str
    clock: ManualClock
    recorder: Recorder

    @property
    def ended(self) -> bool:
        """True once the call is over."""
        ...

    @property
    def agent(self) -> str:
        """The active agent."""
        ...

    async def start(self, *, until: Until) -> None:
        """Start the call (the greeting)."""
        ...

    async def say(self, text: str, *, until: Until) -> float:
        """The caller says ``text``; returns the virtual time the words ended, ms."""
        ...

    async def silence(self, ms: float, *, until: Until) -> None:
        """The caller stays silent for ``ms``."""
        ...

    async def dtmf(self, digits: str, *, until: Until) -> float:
        """The caller presses ``digits``; returns the time of the last key, ms."""
        ...

    async def interrupt(self, after_ms: float, saying: str | None, *, until: Until) -> float:
        """The caller talks over the agent ``after_ms`` into its speech.

        Returns the virtual time the caller stopped talking, ms.
        """
        ...

    def first_words_after(self, at_ms: float, since_event: int) -> float | None:
        """Virtual time of the agent's first words at or after ``at_ms``, or None.

        Only events recorded after event number ``since_event`` count.
        """
        ...

    async def close(self) -> None:
        """End the call from the caller's side (if still on) and wait for it to finish."""
        ...


def _text(wiring: Wiring) -> Driver:
    from bootstrap.testkit.text_mode import TextDriver

    return TextDriver(wiring)


def _voice(wiring: Wiring) -> Driver:
    from bootstrap.testkit.voice_mode import VoiceDriver

    return VoiceDriver(wiring)


MODES: Mapping[str, Callable[[Wiring], Driver]] = MappingProxyType({"text": _text, "voice": _voice})
"""Driver factory by mode name (read-only; a mode is one entry here)."""


def driver_for(mode: str, wiring: Wiring) -> Driver:
    """The driver of ``mode`` over ``wiring``.

    Raises:
        ModeError: Unknown mode (the message lists the modes).
    """
    factory = MODES.get(mode)
    if factory is None:
        raise ModeError(f"unknown mode {mode!r} (modes: {', '.join(MODES)})")
    return factory(wiring)
