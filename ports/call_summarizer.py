"""The ``CallSummarizer`` port: a post-call summary, a disposition and extracted fields.

Promise:
    * ``summarize(request)`` returns a :class:`SummaryResult` whose ``disposition`` is one of
      ``request.dispositions`` and whose ``fields`` hold a value for each of
      ``request.fields`` (``None`` when the call did not say).
    * It may take seconds (a language model); the caller bounds it with a timeout and
      retries it. Cancelling it stops the work.
    * Errors: :class:`~ports.errors.ProviderError` subclasses (the model failed or answered
      something that is not a summary: ``ProviderError`` with code ``provider_error``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ports.call_history import CallHeader, RecordLine
from ports.chat import JsonObject, JsonValue


@dataclass(frozen=True, slots=True)
class SummaryField:
    """A field to extract from a call, defined by the agent graph.

    Attributes:
        name: Key in the result's ``fields`` (``intent``, ``resolved``).
        description: What it means, for the model.
        kind: ``"text"``, ``"boolean"`` or ``"choice"``.
        choices: Allowed values of a ``"choice"`` field.
    """

    name: str
    description: str = ""
    kind: str = "text"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SummaryRequest:
    """What to summarise.

    Attributes:
        header: The call's header (outcome, end reason, agents).
        lines: Its transcript lines, in order (as stored, so already redacted).
        dispositions: Allowed dispositions (the first is the default).
        fields: Fields to extract.
    """

    header: CallHeader
    lines: Sequence[RecordLine]
    dispositions: Sequence[str]
    fields: Sequence[SummaryField] = ()


@dataclass(frozen=True, slots=True)
class SummaryResult:
    """A summary.

    Attributes:
        text: A short summary (a few sentences).
        disposition: One of the request's dispositions.
        fields: Field name -> value (text, bool, a choice, or None).
        source: ``"template"`` or the model that wrote it.
    """

    text: str
    disposition: str
    fields: dict[str, JsonValue] = field(default_factory=dict)
    source: str = ""

    def fields_json(self) -> JsonObject:
        """The fields as a JSON object."""
        return dict(self.fields)


class CallSummarizer(Protocol):
    """Writes post-call summaries."""

    async def summarize(self, request: SummaryRequest) -> SummaryResult:
        """Summarise one call.

        Raises:
            ProviderError: The summary could not be made.
        """
        ...
