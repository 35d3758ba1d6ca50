"""Data protection of call records: what of the caller's number and words is stored.

Applied by the recorder before anything is queued for the database, so the store (and the
post-call summary, which reads the stored lines) never sees more than the settings allow.

* Caller numbers (``CallerMode``): ``keep``; ``mask`` (all but the last four digits become
  ``*``); ``hash`` (``h:`` + the first 32 hex digits of HMAC-SHA256 with a secret key, so equal
  numbers still match in queries but the number cannot be read back; with a key, a brute force
  over all phone numbers is not possible offline); ``drop`` (empty).
* Transcripts (``TranscriptMode``): ``keep``; ``redact`` (e-mail addresses, runs of four or
  more digits, and spoken runs of four or more digit words become ``[email]``/``[number]`` in
  every line's text and every string of its data: tool arguments and results included);
  ``drop`` (no words are stored: text is empty and data keeps only numbers, booleans and the
  names of tools, agents and events).

Redaction is pattern-based and best-effort: it removes what looks like numbers and addresses,
not names or free-text secrets. ``docs/call-records.md`` says so.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ports import JsonObject, JsonValue


class CallerMode(StrEnum):
    """How a caller's number is stored."""

    KEEP = "keep"
    MASK = "mask"
    HASH = "hash"
    DROP = "drop"


class TranscriptMode(StrEnum):
    """How a call's words are stored."""

    KEEP = "keep"
    REDACT = "redact"
    DROP = "drop"


_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS: Final = re.compile(r"\+?\d(?:[\s-]?\d){3,}")
_DIGIT_WORD: Final = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_SPOKEN: Final = re.compile(rf"\b{_DIGIT_WORD}(?:[\s,-]+{_DIGIT_WORD}){{3,}}\b", re.IGNORECASE)
_KEPT_KEYS: Final = frozenset({"name", "event", "from", "to", "reason", "call_id", "id"})
"""Data keys whose strings survive ``drop``: tool, agent and event names, never words."""


def redact_text(text: str) -> str:
    """``text`` with e-mail addresses and digit runs (written or spoken) replaced."""
    text = _EMAIL.sub("[email]", text)
    text = _SPOKEN.sub("[number]", text)
    return _DIGITS.sub("[number]", text)


@dataclass(frozen=True, slots=True)
class PrivacyPolicy:
    """What of a call is stored.

    Args:
        caller: How caller (and callee) numbers are stored.
        transcript: How words are stored.
        hash_key: HMAC key for ``CallerMode.HASH`` (required then).

    Raises:
        ValueError: ``hash`` without a key.
    """

    caller: CallerMode = CallerMode.KEEP
    transcript: TranscriptMode = TranscriptMode.KEEP
    hash_key: bytes = b""

    def __post_init__(self) -> None:
        if self.caller is CallerMode.HASH and not self.hash_key:
            raise ValueError("caller hashing needs a key")

    def number(self, value: str) -> str:
        """A caller or callee number (or raw id) as stored."""
        if not value or self.caller is CallerMode.KEEP:
            return value
        if self.caller is CallerMode.DROP:
            return ""
        if self.caller is CallerMode.HASH:
            digest = hmac.new(self.hash_key, value.encode(), hashlib.sha256).hexdigest()
            return f"h:{digest[:32]}"
        keep = 4
        digits = sum(ch.isdigit() for ch in value)
        out, seen = [], 0
        for ch in value:
            if ch.isdigit():
                seen += 1
                out.append(ch if seen > digits - keep else "*")
            else:
                out.append(ch)
        return "".join(out)

    def text(self, value: str) -> str:
        """A line's words as stored."""
        if self.transcript is TranscriptMode.KEEP:
            return value
        if self.transcript is TranscriptMode.DROP:
            return ""
        return redact_text(value)

    def data(self, value: JsonObject) -> JsonObject:
        """A line's data as stored.

        Strings are redacted (``redact``) or dropped (``drop``, but for tool, agent and event
        names); numbers, booleans and nesting are kept.
        """
        if self.transcript is TranscriptMode.KEEP:
            return value
        out: JsonObject = {}
        for key, item in value.items():
            if isinstance(item, str) and self.transcript is TranscriptMode.DROP:
                if key in _KEPT_KEYS:
                    out[key] = item
                continue
            out[key] = self._value(key, item)
        return out

    def _value(self, key: str, value: JsonValue) -> JsonValue:
        if isinstance(value, str):
            if key in _KEPT_KEYS:
                return value
            return "" if self.transcript is TranscriptMode.DROP else redact_text(value)
        if isinstance(value, dict):
            return self.data(value)
        if isinstance(value, list):
            return [self._value("", item) for item in value]
        return value
