"""The realtime ports of a process and the realtime options of each agent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from domain.agents import AgentSpec
from ports import ToolSpec
from ports.realtime import RealtimeConfig, RealtimeModel, TurnDetectionOptions


@dataclass(frozen=True, slots=True)
class RealtimeAgentOptions:
    """Realtime-only options of one agent (its agent file's optional ``realtime`` section).

    Attributes:
        voice: The service voice while the agent is active; ``None``: the deployment's.
        turn_detection: Turn detection while the agent is active; ``None``: the deployment's.
    """

    voice: str | None = None
    turn_detection: TurnDetectionOptions | None = None


@dataclass(frozen=True, slots=True)
class RealtimeDeps:
    """What the realtime runtime needs besides the cascade's ports.

    Attributes:
        model: The realtime model; one session per call.
        base: The deployment's session configuration (voice, turn detection, transcription,
            noise reduction, echo cancellation); instructions and tools come from the agent.
        agents: Per-agent options, by agent name.
    """

    model: RealtimeModel
    base: RealtimeConfig = RealtimeConfig()
    agents: Mapping[str, RealtimeAgentOptions] = field(default_factory=lambda: MappingProxyType({}))

    def config_for(self, agent: AgentSpec, tools: tuple[ToolSpec, ...]) -> RealtimeConfig:
        """The session configuration while ``agent`` is active, offering ``tools``."""
        options = self.agents.get(agent.name) or RealtimeAgentOptions()
        base = self.base
        return replace(
            base,
            instructions=agent.instructions,
            tools=tools,
            voice=options.voice or base.voice,
            turn_detection=options.turn_detection or base.turn_detection,
            temperature=agent.model.temperature
            if agent.model.temperature is not None
            else base.temperature,
        )
