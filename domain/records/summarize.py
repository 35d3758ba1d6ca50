"""The post-call summary from the configured language model (``ports.CallSummarizer``).

The model gets one system message (the task, the allowed dispositions, the fields to extract
with their kinds) and one user message (the stored transcript as plain lines), and must answer
with one JSON object ``{"summary": str, "disposition": str, "fields": {...}}``. Text around
the object (a model's preamble or a code fence) is ignored; an answer without a JSON object
raises ``ProviderError`` so the job retries it. The job (:mod:`domain.records.summary_jobs`)
bounds each try in time and coerces the answer to the configured lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from ports import (
    ChatMessage,
    JsonValue,
    LanguageModel,
    ModelOptions,
    ProviderError,
    Role,
    TextDelta,
)
from ports.call_history import RecordLine
from ports.call_summarizer import SummaryField, SummaryRequest, SummaryResult

PORT: Final = "call_summarizer"

_INSTRUCTIONS: Final = (
    "You write post-call notes for a contact centre. Read the call transcript and answer with"
    " one JSON object and nothing else, with these keys:\n"
    '- "summary": two or three sentences: what the caller wanted, what was done, how the call'
    " ended.\n"
    '- "disposition": exactly one of: {dispositions}.\n'
    '- "fields": an object with these keys (null when the call does not say):\n{fields}'
)


def transcript_text(lines: Sequence[RecordLine], *, max_chars: int = 24_000) -> str:
    """The record's lines as plain text, one per line (the most recent part when too long)."""
    out: list[str] = []
    for line in lines:
        if line.kind == "user":
            out.append(f"caller: {line.text}")
        elif line.kind == "assistant":
            cut = " (interrupted)" if line.interrupted else ""
            out.append(f"agent {line.agent or ''}{cut}: {line.text}")
        elif line.kind == "tool_call":
            out.append(f"tool call {line.text} {json.dumps(line.data.get('arguments', {}))}")
        elif line.kind == "tool":
            out.append(f"tool result {line.data.get('name', '')}: {line.text}")
        elif line.kind == "event":
            out.append(f"[{line.text}]")
    text = "\n".join(out)
    return text[-max_chars:]


def _field_line(spec: SummaryField) -> str:
    kind = spec.kind
    if kind == "choice":
        kind = "one of " + ", ".join(spec.choices)
    elif kind == "boolean":
        kind = "true or false"
    return f'  "{spec.name}" ({kind}): {spec.description}'


def parse_answer(text: str, source: str) -> SummaryResult:
    """The summary in a model's answer.

    Raises:
        ProviderError: The answer holds no JSON object with a ``summary`` string.
    """
    start, end = text.find("{"), text.rfind("}")
    try:
        data = json.loads(text[start : end + 1]) if 0 <= start < end else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("summary"), str):
        raise ProviderError("the model's answer is not a summary object", port=PORT)
    fields = data.get("fields")
    typed: dict[str, JsonValue] = dict(fields) if isinstance(fields, dict) else {}
    return SummaryResult(
        text=data["summary"],
        disposition=str(data.get("disposition") or ""),
        fields=typed,
        source=source,
    )


class ModelSummarizer:
    """``CallSummarizer`` on a ``LanguageModel``.

    Args:
        llm: The model (the same one the agents use, or another).
        source: Name stored with each summary (the model's name).
        max_tokens: Completion cap.
    """

    def __init__(self, llm: LanguageModel, *, source: str = "model", max_tokens: int = 400) -> None:
        self._llm = llm
        self._source = source
        self._max_tokens = max_tokens

    async def summarize(self, request: SummaryRequest) -> SummaryResult:
        """Ask the model for the summary (the caller bounds the time).

        Raises:
            ProviderError: The model failed or did not answer with a summary object.
        """
        fields = "\n".join(_field_line(f) for f in request.fields) or "  (none)"
        system = _INSTRUCTIONS.format(dispositions=", ".join(request.dispositions), fields=fields)
        header = request.header
        user = (
            f"Call {header.call_id} ({header.channel}), ended: {header.end_reason or 'unknown'};"
            f" agents: {', '.join(header.agents) or 'unknown'}.\n\n"
            + transcript_text(request.lines)
        )
        messages = [ChatMessage(Role.SYSTEM, system), ChatMessage(Role.USER, user)]
        options = ModelOptions(temperature=0.0, max_tokens=self._max_tokens)
        answer: list[str] = []
        stream = self._llm.stream(messages, (), options)
        try:
            async for event in stream:
                if isinstance(event, TextDelta):
                    answer.append(event.text)
        finally:
            await stream.aclose()
        return parse_answer("".join(answer), self._source)
