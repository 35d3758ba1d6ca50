"""The ``Tracing`` port: one trace per call, fed by the call runtime's hooks.

Promise:
    * :meth:`Tracing.start_call` is called once per call, when its media stream starts; the
      returned :class:`CallTrace` gets that call's hooks until :meth:`CallTrace.end`.
    * Every hook is synchronous, cheap and never raises; none is called per audio frame.
      Exporting happens elsewhere (off the event loop), so an exporter that fails or hangs
      never slows a call.
    * Times are the runtime clock's milliseconds (``Clock.now_ms()``); the adapter maps them
      onto wall time from the anchor given to :meth:`Tracing.start_call`.
    * Ids (``response_id``, ``speech_id``, ``tool_call_id``) are unique within the call; a hook
      naming an unknown or already ended id does nothing.
    * Personal data (tool arguments, transcript text, the caller's number) is never passed to
      a hook except ``tool_started``'s ``arguments``, which the adapter records only when
      configured to.

The span tree an adapter builds is documented in ``docs/observability.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class CallTrace(Protocol):
    """The hooks of one call's trace."""

    def speech_started(self, at_ms: float) -> None:
        """The caller started speaking (VAD onset, after smoothing) at ``at_ms``."""
        ...

    def final_transcript(self, at_ms: float, *, words: int) -> None:
        """A final transcript with ``words`` words arrived: a user turn starts (or goes on)."""
        ...

    def turn_answered(self, at_ms: float) -> None:
        """The first frame of the current user turn's answer left: the turn ends."""
        ...

    def model_request_started(
        self, response_id: str, at_ms: float, *, agent: str, model: str | None
    ) -> None:
        """A model request began for ``agent`` (``model``: None for the adapter's default)."""
        ...

    def model_first_token(self, response_id: str, at_ms: float) -> None:
        """The request's stream produced its first event (time to first token)."""
        ...

    def model_usage(self, response_id: str, input_tokens: int, output_tokens: int) -> None:
        """The request's token usage, as the provider reported it."""
        ...

    def model_request_ended(self, response_id: str, at_ms: float, *, outcome: str) -> None:
        """The request ended: ``"ok"``, ``"cancelled"`` or an error code."""
        ...

    def synthesis_started(self, speech_id: str, at_ms: float, *, characters: int) -> None:
        """Speech of ``characters`` characters was queued for text-to-speech."""
        ...

    def synthesis_first_audio(self, speech_id: str, at_ms: float) -> None:
        """The first synthesised audio of ``speech_id`` arrived (time to first byte)."""
        ...

    def synthesis_ended(self, speech_id: str, at_ms: float, *, outcome: str) -> None:
        """``speech_id`` finished playing (``"completed"``) or was cut (``"interrupted"``)."""
        ...

    def tool_started(
        self, tool_call_id: str, name: str, at_ms: float, arguments: Mapping[str, object]
    ) -> None:
        """A tool call began (``arguments`` are personal data: record only if configured)."""
        ...

    def tool_ended(self, tool_call_id: str, at_ms: float, *, outcome: str) -> None:
        """The tool call ended: ``"ok"`` or ``"error"``."""
        ...

    def handoff(self, from_agent: str, to_agent: str, at_ms: float) -> None:
        """The conversation handed off from ``from_agent`` to ``to_agent``."""
        ...

    def playback_stopped(self, at_ms: float, *, reason: str) -> None:
        """The agent's audio was stopped (``reason``, e.g. ``"barge_in"``): a span event.

        Every synthesis still open ends as ``"interrupted"``.
        """
        ...

    def false_interruption(self, at_ms: float) -> None:
        """A barge-in turned out not to be one; the agent resumed: a span event."""
        ...

    def transfer(self, target_kind: str, at_ms: float) -> None:
        """A transfer was requested (``target_kind``: a ``ParticipantKind`` value)."""
        ...

    def transfer_result(self, accepted: bool, at_ms: float) -> None:
        """The transfer was accepted or failed."""
        ...

    def hang_up(self, at_ms: float) -> None:
        """The agent hung up."""
        ...

    def end(self, reason: str, at_ms: float) -> None:
        """The call ended with ``reason``: every open span ends, the root last."""
        ...


class Tracing(Protocol):
    """Makes one :class:`CallTrace` per call; one instance serves every call of a process."""

    def start_call(
        self, call_id: str, at_ms: float, *, channel: str, traceparent: str | None = None
    ) -> CallTrace:
        """Begin the trace of call ``call_id`` (for ACS the call connection id) at ``at_ms``.

        Args:
            call_id: The call's id, set on every span of the trace.
            at_ms: Runtime clock time of the call's start, ms (the anchor to wall time).
            channel: ``"acs"``, ``"browser"`` or ``"test"``.
            traceparent: A W3C ``traceparent`` the call arrived with (continued when valid).
        """
        ...


class NoCallTrace:
    """A :class:`CallTrace` that records nothing (tracing off)."""

    __slots__ = ()

    def speech_started(self, at_ms: float) -> None:
        """Nothing."""

    def final_transcript(self, at_ms: float, *, words: int) -> None:
        """Nothing."""

    def turn_answered(self, at_ms: float) -> None:
        """Nothing."""

    def model_request_started(
        self, response_id: str, at_ms: float, *, agent: str, model: str | None
    ) -> None:
        """Nothing."""

    def model_first_token(self, response_id: str, at_ms: float) -> None:
        """Nothing."""

    def model_usage(self, response_id: str, input_tokens: int, output_tokens: int) -> None:
        """Nothing."""

    def model_request_ended(self, response_id: str, at_ms: float, *, outcome: str) -> None:
        """Nothing."""

    def synthesis_started(self, speech_id: str, at_ms: float, *, characters: int) -> None:
        """Nothing."""

    def synthesis_first_audio(self, speech_id: str, at_ms: float) -> None:
        """Nothing."""

    def synthesis_ended(self, speech_id: str, at_ms: float, *, outcome: str) -> None:
        """Nothing."""

    def tool_started(
        self, tool_call_id: str, name: str, at_ms: float, arguments: Mapping[str, object]
    ) -> None:
        """Nothing."""

    def tool_ended(self, tool_call_id: str, at_ms: float, *, outcome: str) -> None:
        """Nothing."""

    def handoff(self, from_agent: str, to_agent: str, at_ms: float) -> None:
        """Nothing."""

    def playback_stopped(self, at_ms: float, *, reason: str) -> None:
        """Nothing."""

    def false_interruption(self, at_ms: float) -> None:
        """Nothing."""

    def transfer(self, target_kind: str, at_ms: float) -> None:
        """Nothing."""

    def transfer_result(self, accepted: bool, at_ms: float) -> None:
        """Nothing."""

    def hang_up(self, at_ms: float) -> None:
        """Nothing."""

    def end(self, reason: str, at_ms: float) -> None:
        """Nothing."""


NO_CALL_TRACE = NoCallTrace()
"""The shared stateless no-op trace."""


class NoTracing:
    """A :class:`Tracing` that traces nothing: the default."""

    __slots__ = ()

    def start_call(
        self, call_id: str, at_ms: float, *, channel: str, traceparent: str | None = None
    ) -> CallTrace:
        """The no-op trace."""
        return NO_CALL_TRACE
