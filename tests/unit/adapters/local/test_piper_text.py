"""Piper's text side: pieces that map back to the text, and estimated word timings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.local.piper_tts import estimate_words, split_pieces


@given(st.text(alphabet="ab .,!?;:\n", max_size=400), st.integers(min_value=20, max_value=120))
def test_pieces_point_back_into_the_text_and_stay_short(text: str, max_chars: int) -> None:
    pieces = split_pieces(text, max_chars)
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in pieces)
    assert all(len(piece) <= max_chars and piece.strip() for _, piece in pieces)
    assert all(a[0] + len(a[1]) <= b[0] for a, b in zip(pieces, pieces[1:], strict=False))
    # Nothing but whitespace is lost.
    kept = "".join(piece for _, piece in pieces).replace(" ", "").replace("\n", "")
    assert kept == text.replace(" ", "").replace("\n", "")


def test_sentences_are_synthesised_one_at_a_time() -> None:
    text = "Thank you for calling. How can I help?"
    assert split_pieces(text, 200) == [(0, "Thank you for calling."), (23, "How can I help?")]


def test_word_timings_follow_the_phonemes_and_fill_the_audio() -> None:
    words = estimate_words("go forward", [list("ɡoʊ"), list("fˈɔːɹwɚd")], 1000.0)
    assert [(o, n) for o, n, _, _ in words] == [(0, 2), (3, 7)]
    (_, _, first_at, first_ms), (_, _, second_at, second_ms) = words
    assert first_at == 0.0 and second_at == first_ms
    assert first_ms < second_ms  # "forward" has more sounds than "go"
    assert first_ms + second_ms == 1000.0


def test_word_timings_fall_back_to_characters_when_the_phonemes_do_not_line_up() -> None:
    # "$42.50" is spoken as several words: the phoneme words no longer match the text's.
    words = estimate_words("pay $42.50 now", [list("peɪ")] * 6, 900.0)
    assert [o for o, *_ in words] == [0, 4, 11]
    assert sum(ms for *_, ms in words) == 900.0
    assert estimate_words("   ", [], 500.0) == ()
