"""How a test conversation runs: the drivers of its modes, one per media side.

A *mode* is a driver of a call runtime: ``text`` (the runtime with a text media side, as
``parley chat``), ``voice`` (the cascade runtime with audio through the fake engines and a
manual clock) and ``realtime`` (the realtime speech-to-speech runtime over a scripted realtime
service, on the same clock). All run the same agent files, model and tools; a test chooses the
mode with a string, and a new mode is one more entry in :data:`MODES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Protocol

from adapters.memory import ManualClock
from bootstrap.testkit.recorder import Recorder
from domain.runtime import RuntimeConfig
from domain.runtime.realtime import RealtimeAgentOptions
from domain.session import Conversation
from ports import LanguageModel, ToolExecutor

__all__ = [
    "MODES",
    "STANDS_IN_FOR",
    "Driver",
    "ModeError",
    "Until",
    "Wiring",
    "driver_for",
    "scenario_mode",
]

Until = Literal["done", "agent_speaks"]
"""When a caller action returns: ``done`` once the conversation waits for the caller again
(every reply spoken, tools run); ``agent_speaks`` as soon as the agent's answer starts playing
(voice and realtime mode), so that the next action can talk over it."""


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
        realtime: Each agent's realtime options (its agent file's ``realtime`` section:
            voice, turn detection), for realtime mode.
    """

    conversation: Conversation
    llm: LanguageModel
    tools: ToolExecutor
    config: RuntimeConfig
    call_id: str = "test-call"
    caller: str = "+15550100"
    realtime: Mapping[str, RealtimeAgentOptions] = field(
        default_factory=lambda: MappingProxyType({})
    )


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


def _realtime(wiring: Wiring) -> Driver:
    from bootstrap.testkit.realtime_mode import RealtimeDriver

    return RealtimeDriver(wiring)


MODES: Mapping[str, Callable[[Wiring], Driver]] = MappingProxyType(
    {"text": _text, "voice": _voice, "realtime": _realtime}
)
"""Driver factory by mode name (read-only; a mode is one entry here)."""


STANDS_IN_FOR: Mapping[str, frozenset[str]] = MappingProxyType({"realtime": frozenset({"voice"})})
"""Modes that also run what needs another mode: realtime mode is a voice call too (audio
both ways, barge-in, no-input, keys), so a realtime run takes the scenarios made for voice."""


def scenario_mode(pinned: str | None, requested: str) -> str:
    """The mode a scenario runs in: its own (``pinned``), else the one ``requested``.

    A scenario pinned to a mode that ``requested`` stands in for (:data:`STANDS_IN_FOR`)
    runs in ``requested``: ``parley test --mode realtime`` runs the voice scenarios (barge-in,
    no-input) in realtime mode too, while ``--mode text`` leaves them in voice mode.
    """
    if pinned is None or pinned in STANDS_IN_FOR.get(requested, frozenset()):
        return requested
    return pinned


def driver_for(mode: str, wiring: Wiring) -> Driver:
    """The driver of ``mode`` over ``wiring``.

    Raises:
        ModeError: Unknown mode (the message lists the modes).
    """
    factory = MODES.get(mode)
    if factory is None:
        raise ModeError(f"unknown mode {mode!r} (modes: {', '.join(MODES)})")
    return factory(wiring)
