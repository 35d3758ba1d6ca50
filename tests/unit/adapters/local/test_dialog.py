"""The offline dialog model: intents, slots, tools, handoffs, fallback, streaming."""

from __future__ import annotations

import json

import pytest

from adapters.local.dialog import (
    DialogAgent,
    Intent,
    OfflineDialogModel,
    Slot,
    SlotKind,
    extract_amount,
    extract_date,
    extract_digits,
)
from ports import (
    ChatMessage,
    ModelOptions,
    ResponseDone,
    Role,
    TextDelta,
    ToolCall,
    ToolCallsRequested,
    Usage,
)

CONCIERGE = DialogAgent(
    name="concierge",
    intents=(
        Intent(
            name="check_balance",
            examples=("what is my balance", "how much money do I have"),
            keywords=("balance",),
            reply="Let me check that for you.",
            tool="get_balance",
            after_tool="Your balance is {balance} dollars.",
        ),
        Intent(
            name="lock_card",
            examples=("lock my card", "freeze my card"),
            keywords=("lock", "freeze"),
            tool="lock_card",
            slots=(Slot("last4", SlotKind.DIGITS, min_digits=4, max_digits=4),),
            clarify="Which card? Please tell me its last four digits.",
            after_tool="Done, the card ending {last4} is locked.",
        ),
        Intent(
            name="fraud",
            examples=("my card was stolen", "I see a charge I did not make"),
            keywords=("fraud", "stolen"),
            reply="I will connect you with our fraud team.",
            handoff="fraud",
        ),
        Intent(name="hours", examples=("when are you open",), reply="We are open nine to five."),
    ),
    fallback_reply="Sorry, I can help with balances, cards and fraud.",
)
FRAUD = DialogAgent(
    name="fraud",
    intents=(
        Intent(
            name="report",
            examples=("my card was stolen",),
            keywords=("stolen",),
            reply="I have blocked the card and opened a case.",
        ),
    ),
    fallback_reply="Fraud desk here. How can I help?",
)


@pytest.fixture
def model() -> OfflineDialogModel:
    return OfflineDialogModel({"concierge": CONCIERGE, "fraud": FRAUD})


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(Role.SYSTEM, "You are a bank concierge."), ChatMessage(Role.USER, text)]


async def collect(model: OfflineDialogModel, messages, agent: str = "concierge") -> list[object]:
    return [e async for e in model.stream(messages, (), ModelOptions(agent=agent))]


def text_of(events: list[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def calls_of(events: list[object]) -> tuple[ToolCall, ...]:
    found = [e for e in events if isinstance(e, ToolCallsRequested)]
    return found[0].calls if found else ()


async def test_reply_intent_streams_one_delta_per_word_then_usage_and_done(model) -> None:
    events = await collect(model, user("when are you open?"))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert [d.text for d in deltas] == ["We", " are", " open", " nine", " to", " five."]
    assert isinstance(events[-2], Usage)
    assert events[-1] == ResponseDone("stop")


async def test_tool_intent_requests_the_tool_after_its_preamble(model) -> None:
    events = await collect(model, user("how much money do I have"))
    assert text_of(events) == "Let me check that for you."
    assert [c.name for c in calls_of(events)] == ["get_balance"]
    assert events[-1] == ResponseDone("tool_calls")


async def test_spoken_digits_become_the_tool_argument(model) -> None:
    events = await collect(model, user("please lock my card ending four five six seven"))
    assert calls_of(events)[0].arguments == {"last4": "4567"}


async def test_a_slot_that_does_not_match_leads_to_a_clarification(model) -> None:
    events = await collect(model, user("lock my card"))
    assert calls_of(events) == ()
    assert text_of(events) == "Which card? Please tell me its last four digits."


async def test_handoff_intent_requests_the_handoff_tool_of_the_target(model) -> None:
    events = await collect(model, user("my card was stolen yesterday"))
    assert [c.name for c in calls_of(events)] == ["handoff_to_fraud"]
    assert text_of(events) == "I will connect you with our fraud team."


async def test_unmatched_utterance_gets_the_agents_fallback(model) -> None:
    events = await collect(model, user("tell me a joke about penguins"))
    assert text_of(events) == CONCIERGE.fallback_reply
    assert calls_of(events) == ()


async def test_options_agent_selects_that_agents_intents(model) -> None:
    events = await collect(model, user("when are you open"), agent="fraud")
    assert text_of(events) == FRAUD.fallback_reply


async def test_after_a_tool_result_the_after_tool_template_is_filled(model) -> None:
    call = ToolCall("offline_call_1", "get_balance", {})
    history = [
        *user("what is my balance"),
        ChatMessage(Role.ASSISTANT, "Let me check that for you.", tool_calls=(call,)),
        ChatMessage(Role.TOOL, json.dumps({"balance": 1234.5}), tool_call_id=call.id),
    ]
    events = await collect(model, history)
    assert text_of(events) == "Your balance is 1234.5 dollars."
    assert events[-1] == ResponseDone("stop")


async def test_a_tool_result_without_a_template_is_read_out_generically(model) -> None:
    call = ToolCall("c9", "unknown_tool", {})
    history = [
        *user("anything"),
        ChatMessage(Role.ASSISTANT, "", tool_calls=(call,)),
        ChatMessage(Role.TOOL, json.dumps({"status": "ok"}), tool_call_id="c9"),
    ]
    assert text_of(await collect(model, history)) == "Here is what I found: status ok."


async def test_after_a_handoff_the_new_agent_answers_without_handing_back(model) -> None:
    call = ToolCall("c1", "handoff_to_fraud", {})
    history = [
        *user("my card was stolen"),
        ChatMessage(Role.ASSISTANT, "", tool_calls=(call,)),
        ChatMessage(Role.TOOL, "handed off", tool_call_id="c1"),
    ]
    events = await collect(model, history, agent="fraud")
    assert text_of(events) == "I have blocked the card and opened a case."
    assert calls_of(events) == ()


async def test_closing_the_stream_mid_reply_stops_it(model) -> None:
    stream = model.stream(user("when are you open"), (), ModelOptions(agent="concierge"))
    first = await stream.__anext__()
    await stream.aclose()
    assert first == TextDelta("We")
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_the_same_history_gives_the_same_reply(model) -> None:
    a = await collect(model, user("freeze my card 1234"))
    b = await collect(model, user("freeze my card 1234"))
    assert a == b


def test_slot_extractors_read_digits_amounts_and_dates() -> None:
    assert extract_digits("ends in 4 5 6 7", min_digits=4, max_digits=4) == "4567"
    assert extract_digits("card one two", min_digits=4) is None
    assert extract_amount("send $1,234.50 please") == 1234.5
    assert extract_amount("twenty five dollars") == 25.0
    assert extract_amount("nothing here") is None
    assert extract_date("what did I spend yesterday") == "yesterday"
    assert extract_date("since March 3rd") == "march 3rd"
    assert extract_date("on 2026-11-20") == "2026-11-20"


def test_a_bad_regex_slot_fails_at_construction_naming_the_intent() -> None:
    bad = Slot("s", SlotKind.REGEX, "(")
    agent = DialogAgent("a", (Intent("x", ("x",), slots=(bad,)),))
    with pytest.raises(ValueError, match="intent 'x' slot 's'"):
        OfflineDialogModel({"a": agent})


async def test_a_request_for_an_unknown_agent_raises_a_port_error(model) -> None:
    from ports import ProviderUnavailableError

    with pytest.raises(ProviderUnavailableError, match="no agent 'nobody'"):
        await collect(model, user("hello"), agent="nobody")


class TestNumbersAsWhisperWritesThem:
    """Whisper writes figures ("10", "4,242", "$42.50"); intents and slots still work."""

    @staticmethod
    def bank() -> OfflineDialogModel:
        lock = Intent(
            "lock_card",
            ("lock my card", "my card ends in one two three four"),
            tool="lock_card",
            slots=(Slot("last_four", SlotKind.DIGITS, min_digits=4, max_digits=4),),
        )
        move = Intent("move", ("go forward ten meters",), reply="Moving.")
        return OfflineDialogModel({"bank": DialogAgent("bank", (lock, move))})

    def test_a_figure_matches_an_example_written_in_words(self) -> None:
        intent, _ = self.bank().match("bank", "Go forward 10 meters.")
        assert intent is not None and intent.name == "move"

    def test_digit_groups_with_commas_fill_a_digits_slot(self) -> None:
        from adapters.local.dialog import extract_digits

        assert extract_digits("Yes, lock my card ending in 4,242.", min_digits=4) == "4242"
        intent, _ = self.bank().match("bank", "My card ends in 1234.")
        assert intent is not None and intent.name == "lock_card"

    def test_amounts_with_cents_spoken_or_written(self) -> None:
        from adapters.local.dialog import extract_amount

        assert extract_amount("42 dollars and 50 cents") == 42.5
        assert extract_amount("forty two dollars and fifty cents") == 42.5
        assert extract_amount("the $899.99 one") == 899.99
