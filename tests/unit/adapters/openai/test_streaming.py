"""Streaming a response through the real openai SDK and the local stand-in, both endpoints."""

from __future__ import annotations

import json

import pytest

from adapters.openai import OpenAIClient, OpenAILanguageModel, create_client
from ports import (
    ChatMessage,
    ContentFilteredError,
    ModelOptions,
    ResponseDone,
    Role,
    TextDelta,
    ToolCallsRequested,
    ToolSpec,
    Usage,
)
from tests.emulators.openai_standin import (
    OpenAIStandin,
    Reply,
    ScriptedToolCall,
    prompt_filtered,
)

from .conftest import azure_config, make_model
from .helpers import HISTORY, collect, text_of

pytestmark = pytest.mark.standin

BALANCE = ToolSpec(
    "get_balance",
    "Balance of an account",
    {"type": "object", "properties": {"account": {"type": "string"}}, "required": ["account"]},
)
TRANSFER = ToolSpec("transfer_money", "Move money", {"type": "object", "properties": {}})


async def test_text_deltas_stream_in_order_then_usage_then_done(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="Your balance is forty two euros.", chunk_chars=3, usage=(12, 7)))

    events = await collect(model.stream(HISTORY, (), ModelOptions()))

    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 11
    assert text_of(events) == "Your balance is forty two euros."
    assert events[-2:] == [Usage(12, 7), ResponseDone("stop")]


async def test_azure_request_goes_to_the_agents_deployment_with_api_key(
    azure_model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="hi"))

    await collect(azure_model.stream(HISTORY, (), ModelOptions(model="bank-gpt4o")))

    request = standin.requests[0]
    assert request.path == "/openai/deployments/bank-gpt4o/chat/completions"
    assert request.query["api-version"] == "2024-10-21"
    assert request.headers["api-key"] == standin.api_key
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


async def test_openai_compatible_request_goes_to_v1_with_bearer(
    standin: OpenAIStandin,
) -> None:
    from .conftest import openai_config

    client = create_client(openai_config(standin))
    try:
        await collect(make_model(client).stream(HISTORY, (), ModelOptions()))
    finally:
        await client.aclose()

    request = standin.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {standin.bearer_token}"
    assert request.body["model"] == "gpt-test"


async def test_entra_token_provider_sends_a_bearer_token_to_azure(standin: OpenAIStandin) -> None:
    calls = 0

    async def token() -> str:
        nonlocal calls
        calls += 1
        return standin.bearer_token

    client = create_client(azure_config(standin, api_key=None, token_provider=token))
    try:
        events = await collect(make_model(client).stream(HISTORY, (), ModelOptions()))
    finally:
        await client.aclose()

    assert isinstance(events[-1], ResponseDone)
    assert calls == 1
    assert "api-key" not in standin.requests[0].headers
    assert standin.requests[0].headers["authorization"] == f"Bearer {standin.bearer_token}"


async def test_azure_prompt_filter_chunk_with_empty_choices_yields_nothing(
    azure_model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="ok"))

    events = await collect(azure_model.stream(HISTORY, (), ModelOptions()))

    assert [type(e) for e in events] == [TextDelta, Usage, ResponseDone]


async def test_tool_call_arguments_split_into_one_character_fragments_are_assembled(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    arguments = {"account": "12345678", "note": 'ünïcode "quoted" {braces}'}
    standin.script(
        Reply(
            tool_calls=(ScriptedToolCall("get_balance", json.dumps(arguments), id="call_A"),),
            argument_chunk_chars=1,
        )
    )

    events = await collect(model.stream(HISTORY, (BALANCE,), ModelOptions()))

    requested = [e for e in events if isinstance(e, ToolCallsRequested)]
    assert len(requested) == 1
    (call,) = requested[0].calls
    assert (call.id, call.name, dict(call.arguments)) == ("call_A", "get_balance", arguments)
    assert events[-1] == ResponseDone("tool_calls")
    assert standin.requests[0].body["tools"][0]["function"]["name"] == "get_balance"


async def test_two_parallel_tool_calls_interleaved_are_assembled_in_index_order(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(
        Reply(
            text="Checking both.",
            tool_calls=(
                ScriptedToolCall("get_balance", '{"account": "111"}'),
                ScriptedToolCall("transfer_money", '{"from": "111", "to": "222", "amount": 5}'),
            ),
            argument_chunk_chars=2,
            parallel=True,
        )
    )

    events = await collect(
        model.stream(HISTORY, (BALANCE, TRANSFER), ModelOptions(parallel_tool_calls=True))
    )

    (requested,) = [e for e in events if isinstance(e, ToolCallsRequested)]
    assert [(c.id, c.name, dict(c.arguments)) for c in requested.calls] == [
        ("call_1", "get_balance", {"account": "111"}),
        ("call_2", "transfer_money", {"from": "111", "to": "222", "amount": 5}),
    ]
    assert text_of(events) == "Checking both."
    assert [type(e) for e in events[-3:]] == [ToolCallsRequested, Usage, ResponseDone]
    assert standin.requests[0].body["parallel_tool_calls"] is True


async def test_malformed_tool_arguments_reach_the_caller_raw(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(tool_calls=(ScriptedToolCall("get_balance", '{"account": 12'),)))

    events = await collect(model.stream(HISTORY, (BALANCE,), ModelOptions()))

    (requested,) = [e for e in events if isinstance(e, ToolCallsRequested)]
    assert dict(requested.calls[0].arguments) == {"_raw": '{"account": 12'}


async def test_content_filter_finish_reason_raises_after_the_text_already_streamed(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(Reply(text="Well, here is how", content_filter=True))
    seen: list[str] = []

    with pytest.raises(ContentFilteredError) as caught:
        async for event in model.stream(HISTORY, (), ModelOptions()):
            if isinstance(event, TextDelta):
                seen.append(event.text)

    assert "".join(seen) == "Well, here is how"
    assert caught.value.port == "language_model"


async def test_prompt_blocked_by_azure_content_filter_raises_content_filtered(
    azure_model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(prompt_filtered())

    with pytest.raises(ContentFilteredError):
        await collect(azure_model.stream(HISTORY, (), ModelOptions()))
    assert len(standin.requests) == 1


async def test_content_filter_error_event_mid_stream_raises_content_filtered(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    standin.script(
        Reply(
            text="abcdefgh",
            error_event_after=1,
            error={"code": "content_filter", "message": "filtered"},
        )
    )

    with pytest.raises(ContentFilteredError):
        await collect(model.stream(HISTORY, (), ModelOptions()))


async def test_per_agent_options_reach_the_request(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    options = ModelOptions(
        agent="cards",
        model="cards-model",
        temperature=0.2,
        max_tokens=64,
        seed=7,
        parallel_tool_calls=False,
    )

    await collect(model.stream(HISTORY, (BALANCE,), options))

    body = standin.requests[0].body
    assert body["model"] == "cards-model"
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.2, 64, 7)
    assert body["parallel_tool_calls"] is False


async def test_defaults_fill_options_and_unset_ones_are_not_sent(
    standin: OpenAIStandin, azure_client: OpenAIClient
) -> None:
    model = make_model(azure_client, max_tokens=100, max_tokens_param="max_completion_tokens")

    await collect(model.stream(HISTORY, (), ModelOptions(parallel_tool_calls=True)))

    body = standin.requests[0].body
    assert body["max_completion_tokens"] == 100
    assert "max_tokens" not in body
    assert not {"temperature", "seed", "tools", "parallel_tool_calls"} & set(body)


async def test_history_with_tool_round_and_handoff_maps_to_wire_messages(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    from ports import ToolCall

    history = (
        ChatMessage(Role.SYSTEM, "You are the cards agent."),
        ChatMessage(Role.USER, "my card is lost", agent="bank"),
        ChatMessage(
            Role.ASSISTANT,
            "",
            tool_calls=(ToolCall("call_9", "handoff_to_cards", {"reason": "lost card"}),),
            agent="bank",
        ),
        ChatMessage(Role.TOOL, "handed off to cards", tool_call_id="call_9", agent="bank"),
        ChatMessage(Role.ASSISTANT, "I can block your", agent="cards", interrupted=True),
        ChatMessage(Role.USER, "yes block it", agent="cards"),
    )

    await collect(model.stream(history, (), ModelOptions(agent="cards")))

    wire = standin.requests[0].body["messages"]
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert wire[2]["tool_calls"][0]["function"] == {
        "name": "handoff_to_cards",
        "arguments": '{"reason":"lost card"}',
    }
    assert wire[2]["name"] == "bank"
    assert wire[3]["tool_call_id"] == "call_9"
    assert wire[4] == {"role": "assistant", "name": "cards", "content": "I can block your —"}


async def test_a_json_chunk_of_unexpected_shape_is_dropped_counted_and_the_answer_goes_on(
    model: OpenAILanguageModel, standin: OpenAIStandin
) -> None:
    odd = json.dumps({"id": "x", "object": "chat.completion.chunk", "choices": "oops"})
    standin.script(Reply(text="Hello there", inject=((1, odd),)))

    events = await collect(model.stream(HISTORY, (), ModelOptions()))

    assert text_of(events) == "Hello there"
    assert events[-1] == ResponseDone("stop")
    assert model.malformed_chunks == 1
