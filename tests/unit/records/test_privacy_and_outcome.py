"""What of a caller's number and words is stored, and how a call's outcome is named."""

from __future__ import annotations

import pytest

from domain.records import CallerMode, PrivacyPolicy, TranscriptMode, classify, redact_text
from ports import CallSummary

KEY = b"0123456789abcdef"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (CallerMode.KEEP, "+14255550123"),
        (CallerMode.MASK, "+*******0123"),
        (CallerMode.DROP, ""),
    ],
)
def test_caller_numbers_are_kept_masked_or_dropped(mode: CallerMode, expected: str) -> None:
    assert PrivacyPolicy(mode).number("+14255550123") == expected


def test_hashed_numbers_match_each_other_and_reveal_nothing() -> None:
    policy = PrivacyPolicy(CallerMode.HASH, hash_key=KEY)
    hashed = policy.number("+14255550123")
    assert hashed == policy.number("+14255550123") != policy.number("+14255550124")
    assert hashed.startswith("h:") and "0123" not in hashed
    assert (
        PrivacyPolicy(CallerMode.HASH, hash_key=b"another-key-0000").number("+14255550123")
        != hashed
    )


def test_hashing_without_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        PrivacyPolicy(CallerMode.HASH)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my card is 4242 4242 4242 4242", "my card is [number]"),
        ("call me at +1 425-555-0123 please", "call me at [number] please"),
        ("it ends in four two four two", "it ends in [number]"),
        ("write to jo.doe+bank@example.co.uk", "write to [email]"),
        ("I need 2 things", "I need 2 things"),
        ("balance is 899.99 dollars", "balance is 899.99 dollars"),
    ],
)
def test_redaction_replaces_numbers_and_addresses(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redacted_data_keeps_names_and_numbers_and_scrubs_strings() -> None:
    policy = PrivacyPolicy(transcript=TranscriptMode.REDACT)
    data = {"name": "lock_card", "arguments": {"last_four": "card 4242", "n": 3}, "ok": True}
    assert policy.data(data) == {
        "name": "lock_card",
        "arguments": {"last_four": "card [number]", "n": 3},
        "ok": True,
    }


def test_dropped_words_leave_only_structure() -> None:
    policy = PrivacyPolicy(transcript=TranscriptMode.DROP)
    assert policy.text("my card is 4242") == ""
    data = {
        "name": "lock_card",
        "arguments": {"last_four": "4242"},
        "marks": {"final": 12.5},
        "list": ["secret", 1],
    }
    assert policy.data(data) == {
        "name": "lock_card",
        "arguments": {},
        "marks": {"final": 12.5},
        "list": ["", 1],
    }


@pytest.mark.parametrize(
    ("reason", "turns", "accepted", "outcome"),
    [
        ("transfer", 2, False, "transferred"),
        ("remote_closed", 2, True, "transferred"),
        ("hang_up", 0, False, "resolved"),
        ("remote_closed", 3, False, "resolved"),
        ("CallDisconnected", 0, False, "abandoned"),
        ("error", 3, False, "failed"),
        ("idle_timeout", 1, False, "failed"),
        ("cancelled", 1, False, "failed"),
    ],
)
def test_the_outcome_follows_the_end_reason(
    reason: str, turns: int, accepted: bool, outcome: str
) -> None:
    summary = CallSummary("c", reason, user_turns=turns)
    assert classify(summary, transfer_accepted=accepted).value == outcome
