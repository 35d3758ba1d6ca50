"""Expectations on a turn read as sentences and fail with what was expected and what happened."""

from __future__ import annotations

import pytest

from parley.testing import (
    AgentSaid,
    CallEnded,
    CallerSaid,
    ExpectationError,
    HandedOff,
    Interrupted,
    ToolCalled,
    Transferred,
    Turn,
)


def lock_turn(**changes: object) -> Turn:
    events = [
        CallerSaid("lock my card ending in 4242"),
        ToolCalled(
            "lock_card",
            {"last_four": "4242"},
            '{"last_four":"4242","status":"locked"}',
            call_id="c1",
        ),
        AgentSaid("Done.", "concierge"),
        AgentSaid("The card ending in 4242 is now locked.", "concierge"),
    ]
    return Turn(2, 'caller: "lock my card ending in 4242"', events, latency_ms=480.0, **changes)  # type: ignore[arg-type]


def test_sentences_chain_when_everything_happened() -> None:
    turn = lock_turn()
    turn.expect.tool_call("lock_card", args={"last_four": "4242"}, result="locked").says(
        contains="now LOCKED"
    ).no_handoff().responds_within(500)
    assert turn.text == "Done. The card ending in 4242 is now locked."


def test_a_wrong_argument_fails_naming_the_field_and_both_values() -> None:
    with pytest.raises(ExpectationError) as caught:
        lock_turn().expect.tool_call("lock_card", args={"last_four": "1234"})
    message = str(caught.value)
    assert message.startswith(
        "Expected a call of tool lock_card with arguments including {'last_four': '1234'}"
    )
    assert "args.last_four: expected '1234', got '4242'" in message
    # The whole turn follows, numbered.
    assert '[1] tool lock_card {"last_four": "4242"} -> {"last_four":"4242","status":"locked"}' in (
        message
    )


def test_a_value_of_another_type_is_a_difference_numbers_aside() -> None:
    turn = Turn(1, "x", [ToolCalled("pay", {"amount": 20, "card": 4242}, "ok")])
    turn.expect.tool_call("pay", args={"amount": 20.0})
    with pytest.raises(ExpectationError, match=r"args.card: expected '4242', got 4242 \(int\)"):
        turn.expect.tool_call("pay", args={"card": "4242"})


def test_a_missing_call_says_there_was_none() -> None:
    turn = Turn(1, "x", [AgentSaid("Hello.")])
    with pytest.raises(ExpectationError, match="there was no tool call"):
        turn.expect.tool_call("lock_card")
    turn.expect.no_tool_calls()
    with pytest.raises(ExpectationError, match="Expected no tool call"):
        lock_turn().expect.no_tool_calls()


def test_words_that_differ_show_a_diff() -> None:
    with pytest.raises(ExpectationError) as caught:
        lock_turn().expect.says(equals="Done. The card ending in 4242 is locked.")
    message = str(caught.value)
    assert "the words differ (- expected, + said):" in message
    assert "- Done. The card ending in 4242 is locked." in message
    assert "+ Done. The card ending in 4242 is now locked." in message


def test_text_checks_report_what_was_said() -> None:
    turn = lock_turn()
    with pytest.raises(ExpectationError, match="which does not contain 'unlocked'"):
        turn.expect.says(contains="unlocked")
    with pytest.raises(ExpectationError, match="which contains 'locked'"):
        turn.expect.says(not_contains="locked")
    turn.expect.says(matches=r"ending in \d{4}")
    with pytest.raises(ValueError, match="needs both"):
        turn.expect.says(intent="confirms")  # type: ignore[call-overload]


def test_ordered_checks_skip_the_callers_words_and_mark_the_failing_event() -> None:
    turn = lock_turn()
    turn.expect.next_event().is_tool_call("lock_card")
    turn.expect.next_event().is_speech(contains="done")
    with pytest.raises(ExpectationError) as caught:
        turn.expect.next_event().is_tool_call("report_fraud")
    assert ">>> [3] concierge:" in str(caught.value)
    turn.expect.no_more_events()


def test_ordered_checks_can_ask_for_a_kind_and_for_the_callers_words() -> None:
    turn = lock_turn()
    turn.expect.next_event(kind="caller").is_caller(contains="4242")
    turn.expect.next_event(kind="speech").is_speech(contains="Done")
    turn.expect.skip_next()
    with pytest.raises(ExpectationError, match="Expected another event"):
        turn.expect.next_event()
    with pytest.raises(ValueError, match="unknown event kind"):
        turn.expect.next_event(kind="message")


def test_leftover_events_fail_no_more_events() -> None:
    turn = lock_turn()
    turn.expect.next_event()
    with pytest.raises(ExpectationError, match=r"Expected no more events\n  concierge: \"Done.\""):
        turn.expect.no_more_events()


def test_contains_event_finds_a_match_anywhere_or_lists_the_candidates() -> None:
    turn = lock_turn()
    found = turn.expect.contains_event("speech", contains="now locked")
    assert found.index == 3
    with pytest.raises(ExpectationError, match=r"\[1\] tool lock_card .*it calls lock_card, not x"):
        turn.expect.contains_event("tool_call", name="x")
    with pytest.raises(TypeError, match="tool_call events take"):
        turn.expect.contains_event("tool_call", to="fraud")
    assert turn.expect[-1].is_speech().index == 3


def test_handoffs_transfers_interruptions_and_hang_ups() -> None:
    turn = Turn(
        3,
        "x",
        [
            Interrupted("barge_in", heard="Thank you for"),
            HandedOff("concierge", "fraud", "stolen card"),
            Transferred("+14255550100", "caller asked"),
            CallEnded("transfer"),
        ],
        agent="fraud",
    )
    turn.expect.handoff_to("fraud").transfer("+14255550100").interrupted(heard_contains="thank")
    with pytest.raises(ExpectationError, match="handoff concierge -> fraud"):
        turn.expect.handoff_to("concierge")
    with pytest.raises(ExpectationError, match="the call ended: transfer"):
        turn.expect.ends_call()
    turn.expect.next_event().is_interruption()
    turn.expect.next_event().is_handoff("fraud")
    turn.expect.next_event().is_transfer()
    turn.expect.next_event().is_call_end("transfer")
    assert turn.end_reason == "transfer"


def test_latency_beyond_the_bound_fails_with_the_figure() -> None:
    with pytest.raises(ExpectationError, match="latency: 480 ms"):
        lock_turn().expect.responds_within(300)
    with pytest.raises(ExpectationError, match="not measured"):
        Turn(1, "x", []).expect.responds_within(300)
