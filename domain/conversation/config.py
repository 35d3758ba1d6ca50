"""The conversation's immutable configuration, looked up once per agent."""

from __future__ import annotations

from dataclasses import replace

from domain.agents import AgentGraph, AgentSpec, HandoffTarget, handoff_tool_name
from domain.policies import BargeInPolicy, ConversationPolicy, EndpointingPolicy
from domain.segmenter import ClauseSegmenter
from ports import ChatMessage, ModelOptions, Role, ToolSpec


class Config:
    """The agent graph and policies, with per-agent lookups precomputed.

    Args:
        graph: The agent graph; it is validated here.
        policy: Conversation policies; defaults when None.

    Raises:
        AgentGraphError: The graph is invalid.
    """

    __slots__ = (
        "agents",
        "barge",
        "endpointing",
        "graph",
        "handoff_tools",
        "options",
        "policy",
        "segmenter",
        "system",
    )

    def __init__(self, graph: AgentGraph, policy: ConversationPolicy | None = None) -> None:
        self.graph = graph.check()
        self.policy = pol = policy if policy is not None else ConversationPolicy()
        self.agents: dict[str, AgentSpec] = {a.name: a for a in graph.agents}
        self.segmenter = ClauseSegmenter(pol.speech.min_clause_chars)
        self.barge: dict[str, BargeInPolicy] = {
            a.name: a.barge_in or pol.barge_in for a in graph.agents
        }
        self.endpointing: dict[str, EndpointingPolicy] = {
            a.name: a.endpointing or pol.endpointing for a in graph.agents
        }
        self.system: dict[str, ChatMessage] = {
            a.name: ChatMessage(Role.SYSTEM, a.instructions, agent=a.name) for a in graph.agents
        }
        self.options: dict[str, ModelOptions] = {
            a.name: a.model if a.model.agent else replace(a.model, agent=a.name)
            for a in graph.agents
        }
        self.handoff_tools: dict[str, tuple[ToolSpec, ...]] = {
            a.name: tuple(handoff_spec(t) for t in a.handoffs) for a in graph.agents
        }


def handoff_spec(target: HandoffTarget) -> ToolSpec:
    """The ``handoff_to_<agent>`` tool offered to the model for ``target``."""
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
