"""Per-call URL tokens: issued tokens verify, anything else does not, bindings are bounded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.acs.call_tokens import CallTokens

KEY = b"k" * 32


def test_an_issued_token_verifies_with_the_same_key_only() -> None:
    token = CallTokens(KEY).issue()
    assert CallTokens(KEY).verify(token)
    assert not CallTokens(b"other-key").verify(token)
    assert not CallTokens().verify(token)  # a random key is another deployment


@given(st.text(max_size=300))
def test_arbitrary_strings_never_verify(text: str) -> None:
    assert not CallTokens(KEY).verify(text)


@given(st.integers(min_value=0, max_value=40), st.sampled_from("AZaz09-_."))
def test_a_token_with_one_character_changed_does_not_verify(index: int, char: str) -> None:
    tokens = CallTokens(KEY)
    token = tokens.issue()
    position = index % len(token)
    tampered = token[:position] + char + token[position + 1 :]
    assert tokens.verify(tampered) is (tampered == token)


def test_bindings_name_the_call_and_the_oldest_are_forgotten() -> None:
    tokens = CallTokens(KEY, max_bound=2)
    first, second, third = tokens.issue(), tokens.issue(), tokens.issue()
    tokens.bind(first, "a")
    tokens.bind(second, "b")
    tokens.bind(third, "c")
    assert (tokens.call_for(first), tokens.call_for(second), tokens.call_for(third)) == (
        None,
        "b",
        "c",
    )
    assert tokens.calls_bound() == {"b", "c"}
