"""Agent graph validation: every problem is reported at once."""

from __future__ import annotations

import pytest

from domain.agents import AgentGraph, AgentGraphError, AgentSpec, HandoffTarget, handoff_tool_name


def test_a_valid_graph_has_no_problems() -> None:
    graph = AgentGraph(
        "a",
        (
            AgentSpec("a", tools=("t1",), handoffs=(HandoffTarget("b", "for b things"),)),
            AgentSpec("b", handoffs=(HandoffTarget("a"),)),
        ),
    )
    assert graph.validate(frozenset({"t1"})) == []
    assert graph.check(frozenset({"t1"})) is graph


def test_validation_reports_every_problem_at_once() -> None:
    graph = AgentGraph(
        "missing",
        (
            AgentSpec("a", tools=("nope",), handoffs=(HandoffTarget("ghost"),)),
            AgentSpec("a"),
            AgentSpec("island"),
        ),
    )
    problems = graph.validate(frozenset({"t1"}))
    text = "\n".join(problems)
    assert "start agent 'missing' is not defined" in text
    assert "agent name 'a' is used 2 times" in text
    assert "hands off to unknown agent 'ghost'" in text
    assert "unknown tool 'nope'" in text
    with pytest.raises(AgentGraphError) as info:
        graph.check(frozenset({"t1"}))
    assert len(info.value.problems) == len(problems) >= 4


def test_unreachable_agents_are_reported() -> None:
    graph = AgentGraph("a", (AgentSpec("a"), AgentSpec("island")))
    assert graph.validate() == ["agent 'island' cannot be reached from start agent 'a'"]


def test_tool_check_is_skipped_without_registered_names() -> None:
    graph = AgentGraph("a", (AgentSpec("a", tools=("anything",)),))
    assert graph.validate(None) == []


def test_tools_may_not_use_the_handoff_prefix() -> None:
    graph = AgentGraph("a", (AgentSpec("a", tools=(handoff_tool_name("b"),)),))
    assert any("reserved prefix" in p for p in graph.validate())


def test_an_empty_graph_is_invalid() -> None:
    problems = AgentGraph("a", ()).validate()
    assert "the graph has no agents" in problems
