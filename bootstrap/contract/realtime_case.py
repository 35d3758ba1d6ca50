"""The case a realtime model implementation hands its contract suite (``realtime_case``).

Kept beside :mod:`bootstrap.contract.cases` (one module per concern): the realtime port's case
carries more controls than the others, because a speech-to-speech service both hears and
answers, and its faults (drops mid-response, slow first audio, malformed events) are on the
wire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ports.realtime import RealtimeModel, RealtimeSession

Replies = list[tuple[str, tuple[tuple[str, dict[str, Any]], ...]]]
"""Scripted responses: ``(text, ((tool name, arguments), ...))`` per response, in order."""


@dataclass(frozen=True)
class RealtimeModelCase:
    """One :class:`ports.realtime.RealtimeModel` implementation and its controls.

    Attributes:
        model: The model under test.
        script: ``script(heard, replies)``: the caller's speech items are transcribed as
            ``heard`` in order; responses answer ``replies`` in order (see :data:`Replies`).
        slow: Make responses stream at about real time (for cancellation).
        drop: Drop the session's connection from the service side (a network drop, expiry).
        rate_limit: Make the next ``create_response`` fail with a rate-limit error event.
        refuse: Make the next connect fail (service unavailable).
        truncations: Truncations the service recorded, ``(item_id, audio_end_ms)``.
        tool_outputs: Function call outputs the service holds, ``(call_id, output)``.
        garbage: Send three malformed or unknown server messages; None when the
            implementation has no wire to send them on.
        bad_key: The same model with refused credentials; None when it has none.
        drop_after_audio: ``drop_after_audio(n)``: the next response's connection drops after
            ``n`` audio chunks; None when the implementation cannot.
        slow_first_audio: ``slow_first_audio(seconds)``: delay the next response's first
            audio; None when the implementation cannot.
    """

    model: RealtimeModel
    script: Callable[[list[str], Replies], None]
    slow: Callable[[], None]
    drop: Callable[[RealtimeSession], None]
    rate_limit: Callable[[RealtimeSession], None]
    refuse: Callable[[], None]
    truncations: Callable[[], list[tuple[str, int]]]
    tool_outputs: Callable[[], list[tuple[str, str]]]
    garbage: Callable[[RealtimeSession], None] | None = None
    bad_key: RealtimeModel | None = None
    drop_after_audio: Callable[[int], None] | None = None
    slow_first_audio: Callable[[float], None] | None = None
