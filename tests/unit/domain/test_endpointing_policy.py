"""EndpointingPolicy: how long a pause judged incomplete waits, by how the final ends.

The end-of-turn model and the recogniser's punctuation are combined: by default a question is
answered at once and anything else (a full stop included) waits ``max_endpointing_delay_ms``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.policies import EndpointingPolicy, sentence_ending

POLICY = EndpointingPolicy()

# Whisper tiny.en finals measured on the shared clips (docs/local-engines.md).
QUESTIONS = ["What's the weather like?", "Hello? Jim and I? Are you there?", "How old is it? "]
SENTENCES = [
    "And I was wondering whether you could help me with that.",
    "Go forward 10 meters.",
    "Thank you!",
    'He said "stop."',
    "Lock my card.)",
]
NEITHER = [
    "And so my fellow Americans ask not",  # jfk.wav cut mid-sentence
    "A thirdly which color would...",  # Whisper's ellipsis: the speaker trails off
    "And\u2026",
    "1,0001.",  # a number read in chunks: the full stop proves nothing
    "My card ends in 0401.",
    "Hi, I'd like,",
    "",
    "   ",
    ".",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_question_mark_ends_a_question(text: str) -> None:
    assert sentence_ending(text) == "?"


@pytest.mark.parametrize("text", SENTENCES)
def test_a_full_stop_or_exclamation_mark_ends_a_sentence(text: str) -> None:
    assert sentence_ending(text) == "."


@pytest.mark.parametrize("text", NEITHER)
def test_no_mark_an_ellipsis_a_comma_or_a_figure_end_nothing(text: str) -> None:
    assert sentence_ending(text) == ""


def test_the_defaults_answer_a_question_at_once_and_trust_no_full_stop() -> None:
    assert POLICY.unlikely_threshold == 0.5
    assert POLICY.question_endpointing_delay_ms == 0
    assert POLICY.sentence_endpointing_delay_ms == 1500
    assert POLICY.max_endpointing_delay_ms == 1500
    # "What's the weather like?" scores 0.02 with Smart Turn v3: answered at once.
    assert POLICY.hold_ms(0.02, 260, "What's the weather like?") == 0
    # Whisper's "Thank you. Not!" in the middle of jfk.wav: the speaker goes on after 1 s.
    assert POLICY.hold_ms(0.01, 260, "Thank you. Not!") == 1240
    assert POLICY.hold_ms(0.04, 260, "And so my fellow Americans ask not") == 1240


def test_a_trusted_full_stop_waits_the_sentence_delay_but_not_after_a_figure() -> None:
    policy = EndpointingPolicy(sentence_endpointing_delay_ms=600)
    assert policy.hold_ms(0.04, 260, "help me with that.") == 340
    assert policy.hold_ms(0.04, 260, "My card ends in 0401.") == 1240
    assert policy.hold_ms(0.04, 260, "What's the weather like?") == 0


def test_a_tier_never_waits_longer_than_the_maximum() -> None:
    policy = EndpointingPolicy(max_endpointing_delay_ms=400, sentence_endpointing_delay_ms=600)
    assert policy.incomplete_delay_ms("Lock my card.") == 400
    assert EndpointingPolicy(max_endpointing_delay_ms=0).hold_ms(0.0, 0, "Lock my card.") == 0


@pytest.mark.parametrize(
    "field",
    ["max_endpointing_delay_ms", "sentence_endpointing_delay_ms", "question_endpointing_delay_ms"],
)
def test_a_negative_delay_is_refused_naming_the_field(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        EndpointingPolicy(**{field: -1.0})


def test_a_threshold_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValueError, match="unlikely_threshold"):
        EndpointingPolicy(unlikely_threshold=1.5)


delays = st.floats(min_value=0, max_value=5000, allow_nan=False)
probabilities = st.none() | st.floats(min_value=0, max_value=1, allow_nan=False)
texts = st.text(alphabet=st.sampled_from("ab 19.?!,\u2026\"')"), max_size=12)


@given(
    max_ms=delays,
    sentence_ms=delays,
    question_ms=delays,
    threshold=st.floats(min_value=0, max_value=1, allow_nan=False),
    probability=probabilities,
    silence=delays,
    text=texts,
)
def test_the_hold_is_never_negative_never_past_the_maximum_and_zero_when_judged_complete(
    max_ms: float,
    sentence_ms: float,
    question_ms: float,
    threshold: float,
    probability: float | None,
    silence: float,
    text: str,
) -> None:
    policy = EndpointingPolicy(
        unlikely_threshold=threshold,
        max_endpointing_delay_ms=max_ms,
        sentence_endpointing_delay_ms=sentence_ms,
        question_endpointing_delay_ms=question_ms,
    )
    hold = policy.hold_ms(probability, silence, text)
    assert 0 <= hold <= max(0.0, max_ms - silence)
    if probability is None or probability >= threshold:
        assert hold == 0
    else:
        assert hold == max(0.0, policy.incomplete_delay_ms(text) - silence)


@given(text=texts, spaces=st.text(alphabet=" \t\n", max_size=3))
def test_trailing_spaces_do_not_change_the_ending(text: str, spaces: str) -> None:
    assert sentence_ending(text + spaces) == sentence_ending(text)


@given(text=texts)
def test_only_a_final_mark_moves_the_wait_below_the_maximum(text: str) -> None:
    delay = POLICY.incomplete_delay_ms(text)
    end = text.rstrip("\"')]} \t\n")
    if not end.endswith(("?", ".", "!")):
        assert delay == POLICY.max_endpointing_delay_ms
    assert delay in (0.0, 1500.0)
