"""The offline dialog model validates its own agent-file section (``dialog_schema``)."""

from __future__ import annotations

import pytest

from adapters.local.dialog import SlotKind
from adapters.local.dialog_schema import DialogSectionError, dialog_agent_from_section


def test_a_valid_section_becomes_the_agents_dialog_agent() -> None:
    agent = dialog_agent_from_section(
        "concierge",
        {
            "intents": [
                {
                    "name": "lock",
                    "examples": ["lock my card"],
                    "tool": "lock_card",
                    "slots": [{"name": "last_four", "kind": "digits", "min_digits": 4}],
                }
            ],
            "no_match_reply": "  Pardon?  ",
        },
        default_threshold=65.0,
        tools=["lock_card"],
        handoffs=[],
    )
    (intent,) = agent.intents
    assert (agent.name, agent.threshold, agent.fallback_reply) == ("concierge", 65.0, "Pardon?")
    assert (intent.tool, intent.slots[0].kind, intent.slots[0].min_digits) == (
        "lock_card",
        SlotKind.DIGITS,
        4,
    )


def test_every_problem_comes_back_with_its_field_path() -> None:
    with pytest.raises(DialogSectionError) as info:
        dialog_agent_from_section(
            "a",
            {
                "intents": [
                    {
                        "name": "x",
                        "examples": ["x"],
                        "reply": "y",
                        "slots": [{"name": "s", "kind": "digitz"}],
                    }
                ],
                "intent_threshold": 101,
            },
            default_threshold=70.0,
        )
    locations = {loc for loc, _ in info.value.problems}
    assert ("intents", 0, "slots", 0, "kind") in locations
    assert ("intent_threshold",) in locations


def test_intent_tools_and_handoffs_must_be_the_agents_own() -> None:
    with pytest.raises(DialogSectionError) as info:
        dialog_agent_from_section(
            "a",
            {
                "intents": [
                    {"name": "t", "examples": ["t"], "tool": "lock_card"},
                    {"name": "h", "examples": ["h"], "handoff": "b"},
                ]
            },
            default_threshold=70.0,
            tools=[],
            handoffs=[],
        )
    assert [loc for loc, _ in info.value.problems] == [
        ("intents", 0, "tool"),
        ("intents", 1, "handoff"),
    ]
