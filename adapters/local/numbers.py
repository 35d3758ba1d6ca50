"""Numbers in one form for matching: spoken words and written figures become the same text.

Recognisers disagree on numbers: pocketsphinx writes words ("go forward ten meters", "one two
three four"), Whisper writes figures ("Go forward 10 meters.", "1234", "$42.50"). The offline
dialog model compares the caller's words with the example phrases of its intents, so both
sides go through :func:`figures` first. Words become figures with text2num's
``alpha2digit`` (MIT, allo-media/text2num), and a run of single digits spoken one by one
("1 2 3 4", as ``alpha2digit`` leaves "one two three four") is joined into one figure
("1234"), the form Whisper writes.
"""

from __future__ import annotations

import re

from adapters.local._imports import require

_text2num = require("text_to_num", "text2num")

_DIGIT_RUN = re.compile(r"\b\d(?:[ -]\d\b)+")


def figures(text: str, language: str = "en") -> str:
    """``text`` with spoken numbers as figures and digit-by-digit runs joined.

    Args:
        text: An utterance or an example phrase, any case and punctuation.
        language: text2num language code (``en``, ``fr``, ``es``, ``de``...).

    Returns:
        The same text with numbers as figures: "ten meters" -> "10 meters",
        "ends in one two three four" -> "ends in 1234". Other words are unchanged.
    """
    converted = str(_text2num.alpha2digit(text, language))
    return _DIGIT_RUN.sub(lambda m: re.sub(r"[ -]", "", m.group(0)), converted)
