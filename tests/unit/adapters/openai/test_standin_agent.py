"""The stand-in's keyword agent: enough of a model to run an agent graph offline."""

from __future__ import annotations

import json

from tests.emulators.openai_standin import KeywordAgent

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_balance",
            "parameters": {
                "type": "object",
                "properties": {"account": {"type": "string"}},
                "required": ["account"],
            },
        },
    },
    {"type": "function", "function": {"name": "handoff_to_cards", "parameters": {}}},
]


def test_keyword_in_the_callers_words_calls_the_tool_with_digits_as_arguments() -> None:
    reply = KeywordAgent()(
        {"messages": [{"role": "user", "content": "What is the balance of 4242?"}], "tools": TOOLS}
    )

    (call,) = reply.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("get_balance", {"account": "4242"})


def test_singular_word_reaches_a_plural_handoff_target() -> None:
    reply = KeywordAgent()(
        {"messages": [{"role": "user", "content": "I lost my card"}], "tools": TOOLS}
    )

    assert reply.tool_calls[0].name == "handoff_to_cards"


def test_tool_result_is_answered_in_words() -> None:
    reply = KeywordAgent()({"messages": [{"role": "tool", "content": "42 euros"}], "tools": TOOLS})

    assert reply.text == "Done: 42 euros"
    assert reply.tool_calls == ()


def test_anything_else_is_echoed() -> None:
    reply = KeywordAgent()({"messages": [{"role": "user", "content": "hello"}], "tools": TOOLS})

    assert reply.text == "You said: hello."
