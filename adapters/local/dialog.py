"""OfflineDialogModel: a deterministic ``LanguageModel`` for demos, tests and air-gapped runs.

This is the **offline model for demos, tests and air-gapped smoke runs**. It is not a language
model: it matches the caller's last utterance against the intents declared in the agent
definition and replies from templates. Production uses Azure OpenAI or any OpenAI-compatible
endpoint (``adapters/openai``).

The agent definition (``agents/*.yaml``; bootstrap converts it) gives each agent a list of
:class:`Intent` values. For a user turn the model:

1. scores every intent of the active agent (``ModelOptions.agent``) by fuzzy token similarity
   (rapidfuzz ``token_set_ratio`` against each example phrase, 0..100) plus a keyword bonus;
   numbers are compared in one form (:func:`adapters.local.numbers.figures`: "ten" and "10",
   "one two three four" and "1234" match), whichever recogniser wrote them;
2. below the agent's threshold, speaks ``DialogAgent.fallback_reply``;
3. otherwise, by the intent's kind: a ``handoff`` intent requests the tool
   ``handoff_to_<target>`` (the domain's convention for handoffs); a ``tool`` intent extracts
   its slots (digits, amounts, dates, or a custom regex) and requests the tool with them as
   arguments, or asks the intent's ``clarify`` question when a required slot is missing; a
   reply-only intent speaks its ``reply`` template;
4. after a tool result (the last message has role ``tool``) speaks the matched intent's
   ``after_tool`` template filled from the result's JSON object, or a generic
   "Here is what I found: ..." line.

Replies stream one :class:`~ports.TextDelta` per word, like a real model.
"""

from __future__ import annotations

import asyncio
import json
import re
import string
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz

from adapters.local.numbers import figures
from ports import (
    HANDOFF_TOOL_PREFIX,
    ChatMessage,
    JsonValue,
    ModelOptions,
    ProviderUnavailableError,
    ResponseDone,
    ResponseEvent,
    Role,
    TextDelta,
    ToolCall,
    ToolCallsRequested,
    ToolSpec,
    Usage,
)

__all__ = [
    "DialogAgent",
    "Intent",
    "OfflineDialogModel",
    "Slot",
    "SlotKind",
]


class SlotKind(StrEnum):
    """What a slot pattern extracts from the utterance.

    * ``digits``: a run of digits, spoken or written ("four five six seven" -> ``"4567"``).
    * ``amount``: a money amount ("$1,234.50", "twenty dollars" -> ``"1234.50"``, ``"20"``).
    * ``date``: ISO dates, "today"/"tomorrow"/"yesterday", weekday names, or "March 3"
      (returned as written, lowercased; the tool resolves it).
    * ``regex``: ``Slot.pattern``; group 1 (or the whole match) is the value.
    """

    DIGITS = "digits"
    AMOUNT = "amount"
    DATE = "date"
    REGEX = "regex"


@dataclass(frozen=True, slots=True)
class Slot:
    """A tool argument taken from the caller's words.

    Attributes:
        name: Argument name in the tool's JSON arguments.
        kind: Extraction pattern.
        pattern: Regular expression for ``kind == "regex"`` (case-insensitive).
        required: When True and nothing matches, the model asks the intent's ``clarify``
            question instead of calling the tool.
        min_digits: For ``digits``: fewest digits accepted (e.g. 4 for "last four").
        max_digits: For ``digits``: most digits accepted (0: no limit).
    """

    name: str
    kind: SlotKind = SlotKind.DIGITS
    pattern: str | None = None
    required: bool = True
    min_digits: int = 1
    max_digits: int = 0


@dataclass(frozen=True, slots=True)
class Intent:
    """One thing a caller may want, with what the offline model does about it.

    Exactly one of ``reply``, ``tool`` or ``handoff`` drives the action (``handoff`` wins,
    then ``tool``, then ``reply``); ``reply`` may accompany a tool or handoff as the words
    spoken before it.

    Attributes:
        name: Intent name (unique within the agent).
        examples: Example phrases; fuzzy-matched against the utterance.
        keywords: Words that each add a bonus to the match score when present.
        reply: Reply template; ``{slot}`` placeholders are filled from extracted slots.
        tool: Tool to call (its name in the tool registry).
        slots: Slot patterns whose values become the tool's arguments.
        handoff: Target agent name; the model requests tool ``handoff_to_<handoff>``.
        after_tool: Template spoken after the tool result; ``{key}`` placeholders are
            filled from the result's JSON object (and from the slots). Missing keys fall back
            to the generic "Here is what I found: ..." line.
        clarify: Question asked when a required slot is missing.
    """

    name: str
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    reply: str | None = None
    tool: str | None = None
    slots: tuple[Slot, ...] = ()
    handoff: str | None = None
    after_tool: str | None = None
    clarify: str | None = None


@dataclass(frozen=True, slots=True)
class DialogAgent:
    """The offline model's view of one agent.

    Attributes:
        name: Agent name, as in the agent graph and ``ModelOptions.agent``.
        intents: Intents in priority order (ties go to the earlier one).
        fallback_reply: Spoken when no intent scores at least ``threshold``.
        threshold: Minimum match score, 0..100 (rapidfuzz scale).
    """

    name: str
    intents: tuple[Intent, ...] = ()
    fallback_reply: str = "Sorry, I did not catch that. Could you say it another way?"
    threshold: float = 70.0


_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "is",
        "are",
        "was",
        "were",
        "be",
        "am",
        "do",
        "does",
        "did",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "it",
        "this",
        "that",
        "and",
        "or",
        "please",
        "can",
        "could",
        "would",
        "will",
        "just",
        "so",
        "um",
        "uh",
        "like",
    ]
)
"""Function words dropped before fuzzy matching, so "my" alone never matches an intent."""

_KEYWORD_BONUS = 20.0
"""Score added per keyword found in the utterance (rapidfuzz scale 0..100)."""


_PUNCTUATION = str.maketrans({c: " " for c in string.punctuation if c not in "$.,'-"})

_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_DIGIT_WORDS = {w: str(v) for w, v in _UNITS.items() if v < 10}
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday"
_MONTHS = (
    "january february march april may june july august september october november december"
    " jan feb mar apr jun jul aug sep sept oct nov dec"
)
_DATE_RE = re.compile(
    r"\b(\d{4}-\d{2}-\d{2}|today|tomorrow|yesterday|(?:last |next |this )?(?:"
    + "|".join(_WEEKDAYS.split())
    + r")|(?:"
    + "|".join(_MONTHS.split())
    + r")\.? \d{1,2}(?:st|nd|rd|th)?|\d{1,2}/\d{1,2}(?:/\d{2,4})?)\b",
    re.IGNORECASE,
)
_AMOUNT_RE = re.compile(
    r"\$\s*(\d[\d,]*(?:\.\d+)?)"
    r"|\b(\d[\d,]*(?:\.\d+)?)\s*(?:dollars?|usd|bucks)(?:,?\s+(?:and\s+)?(\d{1,2})\s+cents?)?\b",
    re.IGNORECASE,
)


def _normalise(text: str) -> str:
    return " ".join(text.lower().translate(_PUNCTUATION).split())


def _tokens(text: str) -> list[str]:
    return [t.strip(".,'-") for t in _normalise(text).split() if t.strip(".,'-")]


def _content(text: str) -> str:
    words = [t for t in _tokens(text) if t not in _STOPWORDS]
    return " ".join(words) if words else " ".join(_tokens(text))


def extract_digits(text: str, *, min_digits: int = 1, max_digits: int = 0) -> str | None:
    """First run of spoken or written digits within the length bounds.

    Args:
        text: The utterance ("my card ends in four five six seven", "ends in 4567").
        min_digits: Fewest digits accepted.
        max_digits: Most digits accepted; 0 for no limit.

    Returns:
        The digits as a string ("4567"), or None when no run fits.
    """
    runs: list[str] = []
    current = ""
    for token in _tokens(text):
        piece = _DIGIT_WORDS.get(token)
        written = token.replace("-", "").replace(",", "")  # Whisper writes "4,242"
        if piece is None and written.isdigit():
            piece = written
        if piece is None:
            if current:
                runs.append(current)
            current = ""
            continue
        current += piece
    if current:
        runs.append(current)
    for run in runs:
        if len(run) >= min_digits and (max_digits == 0 or len(run) <= max_digits):
            return run
    return None


def _words_to_number(words: list[str]) -> float | None:
    total, current, seen = 0, 0, False
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0
        elif word == "and" and seen:
            continue
        else:
            return None
        seen = True
    return float(total + current) if seen else None


def extract_amount(text: str) -> float | None:
    """A money amount, written ("$1,234.50", "20 dollars") or spoken ("twenty dollars").

    Spoken numbers become figures first (:func:`adapters.local.numbers.figures`), so
    "forty two dollars and fifty cents" and Whisper's "42 dollars and 50 cents" both give 42.5.

    Returns:
        The amount as a float, or None when the utterance names none.
    """
    match = _AMOUNT_RE.search(figures(text))
    if match:
        dollars = float((match.group(1) or match.group(2)).replace(",", ""))
        return dollars + int(match.group(3)) / 100.0 if match.group(3) else dollars
    tokens = _tokens(text)
    for i, token in enumerate(tokens):
        if token in ("dollar", "dollars", "bucks"):
            j = i
            while j > 0 and (
                tokens[j - 1] in _UNITS
                or tokens[j - 1] in _TENS
                or tokens[j - 1] in _SCALES
                or tokens[j - 1] == "and"
            ):
                j -= 1
            value = _words_to_number(tokens[j:i])
            if value is not None:
                return value
    return None


def extract_date(text: str) -> str | None:
    """A date expression as spoken: ISO date, today/tomorrow/yesterday, weekday, "March 3".

    Returns:
        The matched expression, lowercased; the tool resolves it to a calendar date.
    """
    match = _DATE_RE.search(text)
    return match.group(1).lower() if match else None


def extract_slot(slot: Slot, text: str) -> JsonValue:
    """Value of ``slot`` in ``text``, or None when its pattern does not match.

    Raises:
        ValueError: A ``regex`` slot without a pattern, or with an invalid one.
    """
    if slot.kind is SlotKind.DIGITS:
        return extract_digits(text, min_digits=slot.min_digits, max_digits=slot.max_digits)
    if slot.kind is SlotKind.AMOUNT:
        return extract_amount(text)
    if slot.kind is SlotKind.DATE:
        return extract_date(text)
    if not slot.pattern:
        raise ValueError(f"slot {slot.name!r}: kind 'regex' needs a pattern")
    match = re.search(slot.pattern, text, re.IGNORECASE)
    if match is None:
        return None
    return match.group(1) if match.groups() else match.group(0)


def _fill(template: str, values: Mapping[str, JsonValue]) -> str | None:
    """``template`` with ``{key}`` filled, or None when a key is missing or it is malformed."""
    try:
        return template.format_map({k: "" if v is None else v for k, v in values.items()})
    except (KeyError, IndexError, ValueError, AttributeError):
        return None


def _describe(content: str) -> str:
    """Tool result content as a short spoken phrase (JSON objects become "key value" pairs)."""
    try:
        data = json.loads(content)
    except ValueError:
        return content.strip()
    if isinstance(data, dict):
        parts = [f"{str(k).replace('_', ' ')} {_describe(json.dumps(v))}" for k, v in data.items()]
        return ", ".join(parts)
    if isinstance(data, list):
        return "; ".join(_describe(json.dumps(v)) for v in data)
    return str(data)


@dataclass(frozen=True, slots=True)
class _Decision:
    text: str
    calls: tuple[ToolCall, ...] = ()


class OfflineDialogModel:
    """The offline model for demos, tests and air-gapped smoke runs (``ports.LanguageModel``).

    Deterministic: the same history and agent give the same reply. Production uses Azure
    OpenAI or an OpenAI-compatible endpoint instead.

    Args:
        agents: Dialog agents by name; ``ModelOptions.agent`` picks one per request.
        default_agent: Agent used when ``ModelOptions.agent`` is None; defaults to the first
            agent of ``agents``. Every agent of the graph needs an entry (intents may be
            empty): a request for an unknown agent raises ``ProviderUnavailableError``.
        token_interval_ms: Pause between streamed words, ms (0: yield to the loop only).

    Raises:
        ValueError: ``agents`` is empty, or a regex slot pattern does not compile.
    """

    def __init__(
        self,
        agents: Mapping[str, DialogAgent],
        *,
        default_agent: str | None = None,
        token_interval_ms: float = 0.0,
    ) -> None:
        if not agents:
            raise ValueError("OfflineDialogModel needs at least one DialogAgent")
        for agent in agents.values():
            for intent in agent.intents:
                for slot in intent.slots:
                    if slot.kind is SlotKind.REGEX:
                        try:
                            re.compile(slot.pattern or "")
                        except re.error as exc:
                            raise ValueError(
                                f"agent {agent.name!r} intent {intent.name!r} slot {slot.name!r}:"
                                f" bad pattern: {exc}"
                            ) from exc
        self._agents = dict(agents)
        # Example phrases in matching form, computed once: (agent, intent) -> phrases.
        self._examples = {
            (agent.name, intent.name): tuple(_content(figures(ex)) for ex in intent.examples)
            for agent in agents.values()
            for intent in agent.intents
        }
        self._default = default_agent if default_agent in self._agents else next(iter(agents))
        self._interval_s = max(token_interval_ms, 0.0) / 1000.0

    def match(self, agent_name: str | None, utterance: str) -> tuple[Intent | None, float]:
        """Best intent of the agent for ``utterance`` and its score (0..100+).

        Returns:
            ``(intent, score)``; intent is None when nothing reaches the agent's threshold.
        """
        agent = self._agent(agent_name)
        content = _content(figures(utterance))
        tokens = set(_tokens(utterance))
        best: Intent | None = None
        best_score = 0.0
        for intent in agent.intents:
            examples = self._examples.get((agent.name, intent.name))
            if examples is None:  # an agent added after construction
                examples = tuple(_content(figures(ex)) for ex in intent.examples)
            score = max(
                (fuzz.token_set_ratio(content, ex) for ex in examples),
                default=0.0,
            )
            hits = sum(1 for kw in intent.keywords if set(_tokens(kw)) <= tokens and _tokens(kw))
            score = score + _KEYWORD_BONUS * hits if score else 50.0 + _KEYWORD_BONUS * hits
            if not intent.examples and not hits:
                score = 0.0
            if score > best_score:
                best, best_score = intent, score
        if best_score < agent.threshold:
            return None, best_score
        return best, best_score

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        options: ModelOptions,
    ) -> AsyncGenerator[ResponseEvent, None]:
        """Stream the reply for the last message (see the module docstring).

        Yields:
            One :class:`TextDelta` per word, then :class:`ToolCallsRequested` when an intent
            calls a tool or hands off, then :class:`Usage` and :class:`ResponseDone`.

        Raises:
            ProviderUnavailableError: ``options.agent`` names no known agent.
        """
        decision = self._decide(messages, options)
        words = decision.text.split()
        for i, word in enumerate(words):
            yield TextDelta(word if i == 0 else " " + word)
            await asyncio.sleep(self._interval_s)
        if decision.calls:
            yield ToolCallsRequested(decision.calls)
        prompt_words = sum(len(m.text.split()) for m in messages)
        yield Usage(prompt_tokens=prompt_words, completion_tokens=len(words))
        yield ResponseDone("tool_calls" if decision.calls else "stop")

    def _agent(self, name: str | None) -> DialogAgent:
        agent = self._agents.get(name or self._default)
        if agent is None:
            raise ProviderUnavailableError(
                f"offline dialog model has no agent {name!r} (known: {sorted(self._agents)})",
                port="llm",
            )
        return agent

    def _decide(self, messages: Sequence[ChatMessage], options: ModelOptions) -> _Decision:
        agent = self._agent(options.agent)
        last = messages[-1] if messages else None
        if last is not None and last.role is Role.TOOL:
            return self._after_tool(messages, agent, options)
        user = next((m for m in reversed(messages) if m.role is Role.USER), None)
        if user is None or not user.text.strip():
            return _Decision(agent.fallback_reply)
        intent, _ = self.match(agent.name, user.text)
        if intent is None:
            return _Decision(agent.fallback_reply)
        return self._act(intent, user.text, messages)

    def _act(self, intent: Intent, utterance: str, messages: Sequence[ChatMessage]) -> _Decision:
        call_id = f"offline_call_{sum(len(m.tool_calls) for m in messages) + 1}"
        if intent.handoff:
            call = ToolCall(call_id, HANDOFF_TOOL_PREFIX + intent.handoff, {"reason": intent.name})
            return _Decision(intent.reply or "", (call,))
        values: dict[str, JsonValue] = {}
        missing: list[str] = []
        for slot in intent.slots:
            value = extract_slot(slot, utterance)
            if value is None and slot.required:
                missing.append(slot.name)
            elif value is not None:
                values[slot.name] = value
        if missing:
            question = intent.clarify or "Could you tell me your {missing}?"
            text = _fill(question, {"missing": " and ".join(missing).replace("_", " ")})
            return _Decision(text or question)
        reply = _fill(intent.reply, values) if intent.reply else None
        if intent.tool:
            return _Decision(reply or "", (ToolCall(call_id, intent.tool, values),))
        return _Decision(reply or intent.reply or "")

    def _after_tool(
        self, messages: Sequence[ChatMessage], agent: DialogAgent, options: ModelOptions
    ) -> _Decision:
        result = messages[-1]
        request = next(
            (
                call
                for m in reversed(messages)
                for call in m.tool_calls
                if call.id == result.tool_call_id
            ),
            None,
        )
        if request is not None and request.name.startswith(HANDOFF_TOOL_PREFIX):
            # The new agent answers the caller's last words, but never hands off again here,
            # so two agents cannot bounce the caller back and forth.
            user = next((m for m in reversed(messages) if m.role is Role.USER), None)
            intent, _ = self.match(agent.name, user.text) if user else (None, 0.0)
            if intent is None or intent.handoff:
                return _Decision("How can I help you?")
            return self._act(intent, user.text if user else "", messages)
        intent = next(
            (i for i in agent.intents if request is not None and i.tool == request.name), None
        )
        values: dict[str, JsonValue] = dict(request.arguments) if request else {}
        try:
            data = json.loads(result.text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            values.update(data)
        if intent is not None and intent.after_tool:
            text = _fill(intent.after_tool, values)
            if text is not None:
                return _Decision(text)
        described = _describe(result.text)
        return _Decision(f"Here is what I found: {described}." if described else "Done.")
