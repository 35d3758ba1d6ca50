"""The clause segmenter: streamed model text -> clauses ready to speak.

Cutting the model's text into clauses lets text-to-speech start on the first clause while the
model is still writing the rest (time to first byte). Rules:

* cut after a sentence end (``.`` ``!`` ``?`` ``…``, optionally followed by closing quotes or
  brackets) that is followed by whitespace, or at a line break;
* cut after ``,`` ``;`` ``:`` followed by whitespace, once the clause holds at least
  ``min_clause_chars`` characters;
* never cut inside a number ("3.14", "$1,234.56": the punctuation is not followed by
  whitespace) or after a known abbreviation ("Dr.", "e.g.", "Mr.", "i.e."...);
* whitespace after a cut stays with the clause before it, so joining every clause and the
  remainder gives back the input exactly.

While streaming, a sentence end at the very end of the buffer is not cut yet: the next
character decides ("3." may become "3.14").
"""

from __future__ import annotations

from dataclasses import dataclass

ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "dr",
        "mr",
        "mrs",
        "ms",
        "mx",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "vs",
        "e.g",
        "i.e",
        "approx",
        "dept",
        "fig",
    }
)
"""Lower-case words (without their final period) after which a period never ends a clause."""

_SENTENCE_END = ".!?…"
_SOFT_END = ",;:"
_CLOSERS = "\"')]}”’»"
_OPENERS = "\"'([{“‘«"


@dataclass(frozen=True, slots=True)
class ClauseSegmenter:
    """Cuts text into speakable clauses.

    Attributes:
        min_clause_chars: Minimum clause length (characters) before a ``,`` ``;`` ``:`` cut.
    """

    min_clause_chars: int = 24

    def cut(self, text: str) -> tuple[tuple[str, ...], str]:
        """Cut the complete clauses off the front of streamed ``text``.

        Args:
            text: Buffered model text (the previous remainder plus new deltas).

        Returns:
            ``(clauses, remainder)``: complete clauses in order and the text still waiting
            for its end; ``"".join(clauses) + remainder == text``.
        """
        clauses: list[str] = []
        start = 0
        n = len(text)
        i = 0
        while i < n:
            ch = text[i]
            end = -1
            if ch == "\n":
                end = i + 1
            elif ch in _SENTENCE_END or ch in _SOFT_END:
                j = i + 1
                while j < n and text[j] in _CLOSERS:
                    j += 1
                if j < n and text[j].isspace():
                    if ch in _SENTENCE_END:
                        if ch != "." or not _is_abbreviation(text, start, i):
                            end = j
                    elif i + 1 - start >= self.min_clause_chars:
                        end = j
            if end < 0:
                i += 1
                continue
            while end < n and text[end].isspace():
                end += 1
            if text[start:end].strip():
                clauses.append(text[start:end])
                start = end
            i = end
        return tuple(clauses), text[start:]

    def segment(self, text: str) -> tuple[str, ...]:
        """Cut a whole text into clauses.

        Args:
            text: Complete text.

        Returns:
            Non-empty pieces whose concatenation is exactly ``text`` (the last piece is the
            remainder, which may be whitespace only when ``text`` ends a clause with it).
        """
        clauses, rest = self.cut(text)
        return (*clauses, rest) if rest else clauses


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation such as "Dr." or "e.g."."""
    k = dot
    while k > start and not text[k - 1].isspace():
        k -= 1
    raw = text[k:dot].lstrip(_OPENERS)
    if raw.lower() in ABBREVIATIONS:
        return True
    # Single initials ("J. Smith") and dotted acronyms ("U.S.A.") are not sentence ends.
    parts = raw.split(".")
    if len(parts) > 1:
        return all(len(part) == 1 and part.isalpha() for part in parts)
    return len(raw) == 1 and raw.isalpha() and raw.isupper()
