"""Domain chat history to chat-completions messages, and tool-call fragment assembly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.openai import ToolCallAssembler, decode_arguments, messages_to_wire
from ports import ChatMessage, Role, ToolCall


def test_system_user_and_tool_messages_map_one_to_one() -> None:
    wire = messages_to_wire(
        [
            ChatMessage(Role.SYSTEM, "be kind"),
            ChatMessage(Role.USER, "hi"),
            ChatMessage(Role.TOOL, '{"ok": true}', tool_call_id="call_1"),
        ],
        active_agent=None,
    )

    assert wire == [
        {"role": "system", "content": "be kind"},
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"ok": true}'},
    ]


def test_assistant_tool_calls_carry_json_arguments_and_no_content() -> None:
    message = ChatMessage(
        Role.ASSISTANT, tool_calls=(ToolCall("call_1", "get_balance", {"account": "1"}),)
    )

    (wire,) = messages_to_wire([message], active_agent=None)

    assert wire == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_balance", "arguments": '{"account":"1"}'},
            }
        ],
    }


def test_raw_arguments_go_back_exactly_as_the_model_wrote_them() -> None:
    message = ChatMessage(
        Role.ASSISTANT, tool_calls=(ToolCall("c", "get_balance", {"_raw": '{"account": 1'}),)
    )

    (wire,) = messages_to_wire([message], active_agent=None)

    assert wire["tool_calls"][0]["function"]["arguments"] == '{"account": 1'


def test_interrupted_assistant_text_gets_the_marker() -> None:
    message = ChatMessage(Role.ASSISTANT, "Your balance is ", interrupted=True)

    (wire,) = messages_to_wire([message], active_agent=None, interrupted_marker=" …")

    assert wire["content"] == "Your balance is …"


def test_interrupted_assistant_message_nobody_heard_is_left_out() -> None:
    wire = messages_to_wire(
        [ChatMessage(Role.ASSISTANT, "", interrupted=True), ChatMessage(Role.USER, "stop")],
        active_agent=None,
    )

    assert wire == [{"role": "user", "content": "stop"}]


def test_agent_name_goes_in_the_name_field_sanitised() -> None:
    (wire,) = messages_to_wire(
        [ChatMessage(Role.ASSISTANT, "hi", agent="Card Services!")], active_agent="x"
    )

    assert wire["name"] == "Card_Services_"


def test_prefix_mode_marks_only_other_agents_messages() -> None:
    wire = messages_to_wire(
        [
            ChatMessage(Role.ASSISTANT, "welcome to the bank", agent="bank"),
            ChatMessage(Role.ASSISTANT, "cards here", agent="cards"),
        ],
        active_agent="cards",
        agent_names="prefix",
    )

    assert [m["content"] for m in wire] == ["[bank] welcome to the bank", "cards here"]
    assert all("name" not in m for m in wire)


def test_fragments_keyed_by_index_assemble_whatever_the_arrival_order() -> None:
    assembler = ToolCallAssembler()
    assembler.add(1, "call_b", "transfer", "")
    assembler.add(0, "call_a", "balance", '{"a"')
    assembler.add(1, None, None, '{"to":')
    assembler.add(0, None, None, ": 1}")
    assembler.add(1, None, None, ' "x"}')

    calls = assembler.complete()

    assert [(c.id, c.name, dict(c.arguments)) for c in calls] == [
        ("call_a", "balance", {"a": 1}),
        ("call_b", "transfer", {"to": "x"}),
    ]


def test_arguments_that_are_not_a_json_object_are_kept_raw() -> None:
    assert decode_arguments("") == {}
    assert decode_arguments("[1, 2]") == {"_raw": "[1, 2]"}
    assert decode_arguments("{oops") == {"_raw": "{oops"}


@given(
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=12), max_size=5),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=40),
)
def test_any_arguments_split_anywhere_reassemble_exactly(
    arguments: dict[str, object], cuts: list[int]
) -> None:
    import json

    text = json.dumps(arguments)
    assembler = ToolCallAssembler()
    assembler.add(0, "call_1", "tool", None)
    position, i = 0, 0
    while position < len(text):
        step = cuts[i % len(cuts)]
        assembler.add(0, None, None, text[position : position + step])
        position += step
        i += 1

    (call,) = assembler.complete()

    assert dict(call.arguments) == arguments
