"""The clause segmenter: where it cuts, where it never cuts, and that it loses nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.segmenter import ClauseSegmenter

SEG = ClauseSegmenter(min_clause_chars=20)


def test_cuts_at_sentence_ends() -> None:
    assert SEG.segment("Hi. How are you? Great! Bye") == ("Hi. ", "How are you? ", "Great! ", "Bye")


def test_cuts_at_commas_only_once_the_clause_is_long_enough() -> None:
    text = "Yes, of course, your card ending in 1234 is active, and it works; really."
    assert SEG.segment(text) == (
        "Yes, of course, your card ending in 1234 is active, ",
        "and it works; really.",
    )


def test_cuts_at_semicolons_and_colons_after_the_minimum_length() -> None:
    assert SEG.segment("Here is what I found for you: three payments.") == (
        "Here is what I found for you: ",
        "three payments.",
    )


def test_never_cuts_inside_numbers() -> None:
    for text in ("Pi is 3.14 today", "You owe $1,234.56 by Friday, so please pay it soon"):
        clauses, _ = SEG.cut(text + " and more words follow here.")
        assert all("3.14" in c or "3." not in c for c in clauses)
        assert all(not c.endswith(("$1,", "$1,234.")) for c in clauses)
    assert SEG.segment("Pi is 3.14 today.") == ("Pi is 3.14 today.",)
    assert SEG.segment("You owe $1,234.56 by Friday.") == ("You owe $1,234.56 by Friday.",)


def test_never_cuts_after_abbreviations() -> None:
    assert SEG.segment("Dr. Smith will call. Fruit, e.g. apples, is good.") == (
        "Dr. Smith will call. ",
        "Fruit, e.g. apples, is good.",
    )


def test_a_sentence_end_at_the_end_of_the_stream_waits_for_the_next_character() -> None:
    assert SEG.cut("It costs 3.") == ((), "It costs 3.")
    assert SEG.cut("It costs 3.14 now. Then") == (("It costs 3.14 now. ",), "Then")


def test_streaming_in_pieces_gives_the_same_clauses_as_whole_text() -> None:
    text = "Sure, let me check that for you right now. Your balance is $1,234.56. Anything else?"
    clauses: list[str] = []
    buffer = ""
    for ch in text:
        cut, buffer = SEG.cut(buffer + ch)
        clauses.extend(cut)
    assert (*clauses, buffer) == SEG.segment(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .,;:!?$13\n'\"e.g.Dr")), max_size=120))
def test_joining_the_segments_gives_back_the_input(text: str) -> None:
    assert "".join(SEG.segment(text)) == text
    clauses, rest = SEG.cut(text)
    assert "".join(clauses) + rest == text
    assert all(c.strip() for c in clauses)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.integers(min_value=0, max_value=40))
def test_joining_the_segments_gives_back_any_unicode_input(text: str, min_chars: int) -> None:
    assert "".join(ClauseSegmenter(min_chars).segment(text)) == text
