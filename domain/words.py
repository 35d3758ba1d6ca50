"""Words of a transcript, as every policy compares them."""

from __future__ import annotations

_WORD_STRIP = ".,!?;:\"'()[]{}…-—–"


def transcript_words(text: str) -> list[str]:
    """Split a transcript into lower-case words without surrounding punctuation.

    Hyphenated backchannels split into their parts ("uh-huh" -> ["uh", "huh"]) so that a
    recogniser writing "uh huh" matches the same entry.

    Args:
        text: Transcript text, any case and punctuation.

    Returns:
        Non-empty lower-case word parts in order.
    """
    words: list[str] = []
    for raw in text.lower().replace("-", " ").split():
        word = raw.strip(_WORD_STRIP)
        if word:
            words.append(word)
    return words
