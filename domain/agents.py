"""Agents and the agent graph.

An :class:`AgentSpec` is one persona: instructions for the model, fixed lines (greeting,
reprompt, fallback, goodbye...), a voice, the tools it may call and the agents it may hand off
to. An :class:`AgentGraph` is the set of agents of a deployment with its start agent;
:meth:`AgentGraph.validate` reports every problem at once so a bad agent file is fixed in one
pass. Bootstrap builds these from ``agents/*.yaml``.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from domain.policies import BargeInPolicy, EndpointingPolicy
from ports import HANDOFF_TOOL_PREFIX as HANDOFF_TOOL_PREFIX  # re-exported for domain.session
from ports import ModelOptions, Voice


def handoff_tool_name(agent: str) -> str:
    """Name of the tool that hands off to ``agent`` (``handoff_to_<agent>``)."""
    return HANDOFF_TOOL_PREFIX + agent


class AgentGraphError(ValueError):
    """An agent graph is invalid.

    Args:
        problems: Every problem found, one sentence each.

    Attributes:
        problems: Every problem found, one sentence each.
    """

    code = "invalid_agent_graph"

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__("invalid agent graph: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class HandoffTarget:
    """An agent another agent may hand the conversation to.

    Attributes:
        name: Target agent name.
        description: When to hand off, for the model (becomes the handoff tool's description).
    """

    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One agent (persona) of the graph.

    Attributes:
        name: Unique agent name; also used in ``handoff_to_<name>`` tool names, so keep it to
            ``[a-zA-Z0-9_-]``.
        instructions: System message for the model.
        greeting: Spoken when the call starts with this agent ("" for none).
        reprompt: Spoken after no input.
        fallback: Spoken when a response fails.
        goodbye: Spoken before the agent hangs up (no input, escalation without a target).
        voice: TTS voice.
        tools: Names of registered tools the agent may call.
        handoffs: Agents it may hand off to.
        greeting_interruptible: False makes the greeting immune to barge-in.
        handoff_greeting: Spoken when a handoff makes this agent active ("" for none: the new
            agent answers the turn at once).
        barge_in: Override of the conversation's barge-in policy while this agent speaks.
        endpointing: Override of the conversation's endpointing policy while it is active.
        model: Model options for this agent.
        apology: Spoken when a turn needs more tool rounds than allowed.
        safe_reply: Spoken when the provider's content filter blocked a response.
        transfer_line: Spoken before the call is transferred to a person.
        voicemail_message: Left on an answering machine after its beep (outbound calls);
            "" hangs up without a message.
        warm_transfer: Transfers consult the person first (hold the caller, call the person
            in, speak a summary, then connect them); False transfers blind.
        transfer_summary: ``"template"`` (``consult_summary``) or ``"model"`` (written by the
            language model from the conversation, the template when that fails).
        consult_summary: The template summary spoken to the person consulted; ``{reason}``
            and ``{caller_said}`` (the caller's last words) are filled in.
        transfer_unanswered: Spoken to the caller when the person consulted did not answer.
        dtmf_recognize: Collect keys through the telephony provider (ACS ``recognize``)
            whenever this agent waits for the caller, besides in-band DTMF.
    """

    name: str
    instructions: str = ""
    greeting: str = ""
    reprompt: str = "Are you still there?"
    fallback: str = "Sorry, I had trouble with that. Could you say it again?"
    goodbye: str = "Thank you for calling. Goodbye."
    voice: Voice = Voice()
    tools: tuple[str, ...] = ()
    handoffs: tuple[HandoffTarget, ...] = ()
    greeting_interruptible: bool = True
    handoff_greeting: str = ""
    barge_in: BargeInPolicy | None = None
    endpointing: EndpointingPolicy | None = None
    model: ModelOptions = ModelOptions()
    apology: str = "Sorry, I could not finish that. Could we try another way?"
    safe_reply: str = "Sorry, I can't help with that. Is there anything else I can do?"
    transfer_line: str = "Please hold while I transfer your call."
    voicemail_message: str = ""
    warm_transfer: bool = False
    transfer_summary: str = "template"
    consult_summary: str = (
        "Hello, this is the Parley assistant with a caller for you. {reason} "
        "They said: {caller_said}. Connecting you now."
    )
    transfer_unanswered: str = (
        "I'm sorry, nobody could take your call right now. I'm still here to help."
    )
    dtmf_recognize: bool = False


@dataclass(frozen=True, slots=True)
class AgentGraph:
    """The agents of a deployment and the one each call starts with.

    Attributes:
        start: Name of the agent that answers calls.
        agents: Every agent, names unique.
    """

    start: str
    agents: tuple[AgentSpec, ...]

    def get(self, name: str) -> AgentSpec | None:
        """The agent named ``name``, or None."""
        for agent in self.agents:
            if agent.name == name:
                return agent
        return None

    def validate(self, tool_names: frozenset[str] | None = None) -> list[str]:
        """Find every problem of the graph at once.

        Args:
            tool_names: Registered tool names; when given, agent tools outside it are
                problems. ``None`` skips the tool check.

        Returns:
            One sentence per problem, empty when the graph is valid. Checks: no agents,
            duplicate names, unknown start agent, unknown handoff targets, agents that cannot
            be reached from the start agent, unknown tools, tool names clashing with the
            ``handoff_to_`` prefix.
        """
        problems: list[str] = []
        if not self.agents:
            problems.append("the graph has no agents")
        counts = Counter(agent.name for agent in self.agents)
        for name, count in counts.items():
            if count > 1:
                problems.append(f"agent name {name!r} is used {count} times")
            if not name:
                problems.append("an agent has an empty name")
        names = set(counts)
        if self.start not in names:
            problems.append(f"start agent {self.start!r} is not defined")
        for agent in self.agents:
            for target in agent.handoffs:
                if target.name not in names:
                    problems.append(
                        f"agent {agent.name!r} hands off to unknown agent {target.name!r}"
                    )
            for tool in agent.tools:
                if tool.startswith(HANDOFF_TOOL_PREFIX):
                    problems.append(
                        f"agent {agent.name!r} tool {tool!r} uses the reserved prefix"
                        f" {HANDOFF_TOOL_PREFIX!r}"
                    )
                elif tool_names is not None and tool not in tool_names:
                    problems.append(f"agent {agent.name!r} uses unknown tool {tool!r}")
        if self.start in names:
            reached = self._reachable_from(self.start)
            for agent in self.agents:
                if agent.name not in reached and counts[agent.name] == 1:
                    problems.append(
                        f"agent {agent.name!r} cannot be reached from start agent {self.start!r}"
                    )
        return problems

    def check(self, tool_names: frozenset[str] | None = None) -> AgentGraph:
        """Validate and return the graph.

        Args:
            tool_names: Registered tool names, or None to skip the tool check.

        Returns:
            This graph, unchanged.

        Raises:
            AgentGraphError: Listing every problem, when there is any.
        """
        problems = self.validate(tool_names)
        if problems:
            raise AgentGraphError(tuple(problems))
        return self

    def _reachable_from(self, start: str) -> set[str]:
        by_name = {agent.name: agent for agent in self.agents}
        seen = {start}
        queue = deque([start])
        while queue:
            agent = by_name.get(queue.popleft())
            if agent is None:
                continue
            for target in agent.handoffs:
                if target.name not in seen:
                    seen.add(target.name)
                    queue.append(target.name)
        return seen
