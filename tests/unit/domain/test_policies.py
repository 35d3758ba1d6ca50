"""Policies: documented defaults and their decision functions."""

from __future__ import annotations

from domain.policies import (
    BargeInPolicy,
    ConversationPolicy,
    EndpointingPolicy,
    FailurePolicy,
    HandoffPolicy,
    NoInputPolicy,
    ToolPolicy,
    transcript_words,
)


def test_defaults_match_the_documented_values() -> None:
    policy = ConversationPolicy()
    assert policy.barge_in.min_speech_ms == 300
    assert policy.barge_in.min_words == 0
    assert policy.barge_in.false_interruption_timeout_ms == 2000
    assert policy.barge_in.resume_false_interruption is True
    assert policy.no_input.no_input_timeout_ms == 8000
    assert policy.no_input.max_reprompts == 2
    assert policy.tools.max_tool_rounds == 5
    assert policy.handoffs.max_handoffs_per_turn == 2
    assert policy.failures.transfer_target is None


def test_speech_shorter_than_min_speech_ms_never_interrupts() -> None:
    policy = BargeInPolicy(min_speech_ms=300)
    assert not policy.should_interrupt(299, "stop right there")
    assert policy.should_interrupt(300, "")


def test_min_words_requires_enough_words_in_the_partial() -> None:
    policy = BargeInPolicy(min_words=2)
    assert not policy.should_interrupt(1000, "")
    assert not policy.should_interrupt(1000, "wait")
    assert policy.should_interrupt(1000, "wait please")


def test_backchannel_words_never_interrupt() -> None:
    policy = BargeInPolicy()
    for text in ("uh-huh", "Uh huh.", "yeah", "Okay!", "mm-hmm", "yeah okay"):
        assert policy.is_backchannel(text), text
        assert not policy.should_interrupt(5000, text), text
    assert not policy.is_backchannel("yeah but wait")
    assert policy.should_interrupt(5000, "yeah but wait")


def test_backchannel_words_are_configurable() -> None:
    policy = BargeInPolicy(backchannel_words=("si",))
    assert policy.is_backchannel("Si.")
    assert not policy.is_backchannel("yeah")


def test_transcript_words_ignore_case_and_punctuation() -> None:
    assert transcript_words("Hello, WORLD! uh-huh") == ["hello", "world", "uh", "huh"]


def test_limits_decide_at_their_thresholds() -> None:
    assert EndpointingPolicy(end_of_turn_grace_ms=500).merges(1000, 1500)
    assert not EndpointingPolicy(end_of_turn_grace_ms=500).merges(1000, 1501)
    assert NoInputPolicy(max_reprompts=2).should_reprompt(1)
    assert not NoInputPolicy(max_reprompts=2).should_reprompt(2)
    assert ToolPolicy(max_tool_rounds=1).allows_round(0)
    assert not ToolPolicy(max_tool_rounds=1).allows_round(1)
    assert HandoffPolicy(max_handoffs_per_turn=1).allows_handoff(0)
    assert not HandoffPolicy(max_handoffs_per_turn=1).allows_handoff(1)
    assert FailurePolicy(max_consecutive_failures=2).should_escalate(2)
    assert not FailurePolicy(max_consecutive_failures=2).should_escalate(1)
