"""The ``Tracing`` port on the OpenTelemetry SDK: one trace per call, spans from the hooks.

Span tree of one call (names as exported)::

    call                       SERVER  root; parley.call_connection_id, parley.channel,
    |                                  parley.end_reason; events barge_in, false_interruption
    +- user_turn               INTERNAL  one per caller turn, speech onset -> the next turn
    |  |                                 (or the call's end); event first_frame when its
    |  |                                 answer starts (parley.turn.words, .index, .outcome)
    |  +- speech_recognition   INTERNAL  speech onset -> final transcript
    |  +- chat {model}         CLIENT    GenAI conventions: gen_ai.operation.name,
    |  |                                 gen_ai.system, gen_ai.request.model,
    |  |                                 gen_ai.usage.input_tokens/output_tokens,
    |  |                                 gen_ai.server.time_to_first_token (s), parley.outcome
    |  +- execute_tool {name}  INTERNAL  gen_ai.tool.name, gen_ai.tool.call.id, parley.outcome
    |  +- synthesis            CLIENT    parley.tts.characters, parley.tts.time_to_first_byte_ms
    |  +- handoff              INTERNAL  parley.handoff.from, parley.handoff.to
    +- transfer / hang_up      INTERNAL

Spans start under the open user turn, else under the call. Times come from the runtime clock
and are mapped onto wall time from the call's start. Every call's attribute
``parley.call_connection_id`` is set on every span. Nothing here runs per audio frame; spans
go to the SDK's span processor (a ``BatchSpanProcessor`` exports off the event loop).

GenAI attribute names: "Semantic conventions for generative AI systems",
https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/ .
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

logger = logging.getLogger(__name__)

CALL_ID_ATTRIBUTE = "parley.call_connection_id"
"""The attribute naming the call (for ACS its ``callConnectionId``) on every span."""

_PROPAGATOR = TraceContextTextMapPropagator()


class _Guarded:
    """Makes every public hook of a subclass swallow (and log once) its own failures."""

    _failed = False

    def _fail(self, hook: str) -> None:
        if not self._failed:
            self._failed = True
            logger.warning(
                "tracing hook %s failed; later failures are not logged", hook, exc_info=True
            )


class OtelCallTrace(_Guarded):
    """One call's spans. Made by :meth:`OtelTracing.start_call`; see the module docstring.

    Args:
        tracer: The SDK tracer.
        call_id: The call's id (set on every span).
        at_ms: Runtime clock time of the start, ms (anchor to wall time).
        channel: ``"acs"``, ``"browser"``, ``"test"``.
        parent: The context to start the root in (a continued ``traceparent``), or None.
        gen_ai_system: ``gen_ai.system`` of model requests (``"openai"``, ``"az.ai.openai"``).
        default_model: ``gen_ai.request.model`` when a request names none.
        record_tool_arguments: Record tool arguments (personal data) as an attribute.
        forget: Called with this trace once it has ended.

    Attributes:
        call_id: The call's id.
        root: The call's root span.
    """

    def __init__(
        self,
        tracer: Tracer,
        call_id: str,
        at_ms: float,
        *,
        channel: str,
        parent: otel_context.Context | None,
        gen_ai_system: str,
        default_model: str,
        record_tool_arguments: bool,
        forget: Callable[[OtelCallTrace], None] | None = None,
    ) -> None:
        self._tracer = tracer
        self.call_id = call_id
        self._forget = forget
        self._anchor_ms = at_ms
        self._anchor_ns = time.time_ns()
        self._gen_ai_system = gen_ai_system
        self._default_model = default_model
        self._record_args = record_tool_arguments
        self._attrs = {CALL_ID_ATTRIBUTE: call_id}
        self.root: Span = tracer.start_span(
            "call",
            # Never the ambient context (an HTTP or WebSocket span): the call is the root,
            # unless the call arrived with a traceparent to continue.
            context=parent if parent is not None else otel_context.Context(),
            kind=SpanKind.SERVER,
            start_time=self._anchor_ns,
            attributes={**self._attrs, "parley.channel": channel},
        )
        self._root_ctx = trace.set_span_in_context(self.root)
        self._turn: Span | None = None
        self._turn_ctx: otel_context.Context | None = None
        self._turn_has_request = False
        self._turn_answered = False
        self._turns = 0
        self._onset_ms: float | None = None
        self._requests: dict[str, Span] = {}
        self._request_started: dict[str, float] = {}
        self._attached: dict[str, object] = {}
        self._syntheses: dict[str, tuple[Span, float]] = {}
        self._tools: dict[str, Span] = {}
        self._others: list[Span] = []
        self._transfer: Span | None = None
        self._ended = False

    # ------------------------------------------------------------------ helpers

    def _ns(self, at_ms: float) -> int:
        return self._anchor_ns + int((at_ms - self._anchor_ms) * 1_000_000)

    def _parent(self) -> otel_context.Context:
        return self._turn_ctx if self._turn_ctx is not None else self._root_ctx

    def _span(
        self,
        name: str,
        at_ms: float,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
    ) -> Span:
        return self._tracer.start_span(
            name,
            context=self._parent(),
            kind=kind,
            start_time=self._ns(at_ms),
            attributes={**self._attrs, **(attributes or {})},
        )

    def _end_turn(self, at_ms: float, outcome: str) -> None:
        turn, self._turn, self._turn_ctx = self._turn, None, None
        if turn is not None:
            turn.set_attribute("parley.outcome", outcome)
            turn.end(self._ns(at_ms))

    # ------------------------------------------------------------------ turns

    def speech_started(self, at_ms: float) -> None:
        """Keep the onset: the next final's recognition span starts here."""
        self._onset_ms = at_ms

    def final_transcript(self, at_ms: float, *, words: int) -> None:
        """Open a user turn (a final before any model request continues the open one)."""
        try:
            if self._ended:
                return
            if self._turn is not None and self._turn_has_request:
                self._end_turn(at_ms, "answered" if self._turn_answered else "superseded")
            onset = self._onset_ms if self._onset_ms is not None else at_ms
            self._onset_ms = None
            if self._turn is None:
                self._turns += 1
                self._turn = self._tracer.start_span(
                    "user_turn",
                    context=self._root_ctx,
                    start_time=self._ns(min(onset, at_ms)),
                    attributes={**self._attrs, "parley.turn.index": self._turns},
                )
                self._turn_ctx = trace.set_span_in_context(self._turn)
                self._turn_has_request = False
                self._turn_answered = False
            self._turn.set_attribute("parley.turn.words", words)
            recognition = self._span(
                "speech_recognition", min(onset, at_ms), attributes={"parley.turn.words": words}
            )
            recognition.end(self._ns(at_ms))
        except Exception:  # noqa: BLE001 (tracing never fails a call)
            self._fail("final_transcript")

    def turn_answered(self, at_ms: float) -> None:
        """The answer's first frame left: a ``first_frame`` event on the turn."""
        try:
            if self._turn is not None and not self._turn_answered:
                self._turn_answered = True
                self._turn.add_event("first_frame", timestamp=self._ns(at_ms))
        except Exception:  # noqa: BLE001
            self._fail("turn_answered")

    # ------------------------------------------------------------------ model requests

    def model_request_started(
        self, response_id: str, at_ms: float, *, agent: str, model: str | None
    ) -> None:
        """A ``chat {model}`` CLIENT span, current in the calling task (outbound HTTP joins it)."""
        try:
            if self._ended:
                return
            name = model or self._default_model
            self._turn_has_request = True
            span = self._span(
                f"chat {name}",
                at_ms,
                SpanKind.CLIENT,
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": self._gen_ai_system,
                    "gen_ai.request.model": name,
                    "parley.agent": agent,
                },
            )
            self._requests[response_id] = span
            self._request_started[response_id] = at_ms
            # The hook runs in the request's own task: making the span current there lets
            # instrumented HTTP clients carry its traceparent to the model's endpoint.
            self._attached[response_id] = otel_context.attach(trace.set_span_in_context(span))
        except Exception:  # noqa: BLE001
            self._fail("model_request_started")

    def model_first_token(self, response_id: str, at_ms: float) -> None:
        """Time to first token, in seconds as the GenAI conventions measure it."""
        try:
            span = self._requests.get(response_id)
            started = self._request_started.get(response_id)
            if span is not None and started is not None:
                span.add_event("first_token", timestamp=self._ns(at_ms))
                span.set_attribute(
                    "gen_ai.server.time_to_first_token", max(0.0, at_ms - started) / 1000.0
                )
        except Exception:  # noqa: BLE001
            self._fail("model_first_token")

    def model_usage(self, response_id: str, input_tokens: int, output_tokens: int) -> None:
        """Token usage attributes."""
        try:
            span = self._requests.get(response_id)
            if span is not None:
                span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        except Exception:  # noqa: BLE001
            self._fail("model_usage")

    def model_request_ended(self, response_id: str, at_ms: float, *, outcome: str) -> None:
        """End the request's span; an error code sets status ERROR."""
        try:
            token = self._attached.pop(response_id, None)
            if token is not None:
                try:
                    otel_context.detach(token)  # type: ignore[arg-type]
                except Exception:  # noqa: BLE001 (a different task's context: nothing to undo)
                    logger.debug("tracing context detach skipped", exc_info=True)
            self._request_started.pop(response_id, None)
            span = self._requests.pop(response_id, None)
            if span is None:
                return
            span.set_attribute("parley.outcome", outcome)
            if outcome not in ("ok", "cancelled"):
                span.set_status(Status(StatusCode.ERROR, outcome))
                span.set_attribute("error.type", outcome)
            span.end(self._ns(at_ms))
        except Exception:  # noqa: BLE001
            self._fail("model_request_ended")

    # ------------------------------------------------------------------ synthesis

    def synthesis_started(self, speech_id: str, at_ms: float, *, characters: int) -> None:
        """A ``synthesis`` CLIENT span."""
        try:
            if self._ended:
                return
            span = self._span(
                "synthesis", at_ms, SpanKind.CLIENT, {"parley.tts.characters": characters}
            )
            self._syntheses[speech_id] = (span, at_ms)
        except Exception:  # noqa: BLE001
            self._fail("synthesis_started")

    def synthesis_first_audio(self, speech_id: str, at_ms: float) -> None:
        """Time to first byte of synthesised audio."""
        try:
            entry = self._syntheses.get(speech_id)
            if entry is not None:
                span, started = entry
                span.add_event("first_audio", timestamp=self._ns(at_ms))
                span.set_attribute("parley.tts.time_to_first_byte_ms", max(0.0, at_ms - started))
        except Exception:  # noqa: BLE001
            self._fail("synthesis_first_audio")

    def synthesis_ended(self, speech_id: str, at_ms: float, *, outcome: str) -> None:
        """End the synthesis span."""
        try:
            entry = self._syntheses.pop(speech_id, None)
            if entry is not None:
                entry[0].set_attribute("parley.outcome", outcome)
                entry[0].end(self._ns(at_ms))
        except Exception:  # noqa: BLE001
            self._fail("synthesis_ended")

    # ------------------------------------------------------------------ tools, handoffs

    def tool_started(
        self, tool_call_id: str, name: str, at_ms: float, arguments: Mapping[str, object]
    ) -> None:
        """An ``execute_tool {name}`` span; arguments only when configured."""
        try:
            if self._ended:
                return
            attributes: dict[str, Any] = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": tool_call_id,
            }
            if self._record_args:
                attributes["gen_ai.tool.call.arguments"] = json.dumps(arguments, default=str)
            self._tools[tool_call_id] = self._span(
                f"execute_tool {name}", at_ms, attributes=attributes
            )
        except Exception:  # noqa: BLE001
            self._fail("tool_started")

    def tool_ended(self, tool_call_id: str, at_ms: float, *, outcome: str) -> None:
        """End the tool's span; ``"error"`` sets status ERROR."""
        try:
            span = self._tools.pop(tool_call_id, None)
            if span is None:
                return
            span.set_attribute("parley.outcome", outcome)
            if outcome != "ok":
                span.set_status(Status(StatusCode.ERROR, outcome))
            span.end(self._ns(at_ms))
        except Exception:  # noqa: BLE001
            self._fail("tool_ended")

    def handoff(self, from_agent: str, to_agent: str, at_ms: float) -> None:
        """An instant ``handoff`` span."""
        try:
            if self._ended:
                return
            span = self._span(
                "handoff",
                at_ms,
                attributes={"parley.handoff.from": from_agent, "parley.handoff.to": to_agent},
            )
            span.end(self._ns(at_ms))
        except Exception:  # noqa: BLE001
            self._fail("handoff")

    # ------------------------------------------------------------------ interruptions

    def playback_stopped(self, at_ms: float, *, reason: str) -> None:
        """A ``barge_in`` (or ``stop_audio``) event on the call span; open syntheses end."""
        try:
            name = "barge_in" if reason == "barge_in" else "stop_audio"
            self.root.add_event(name, {"parley.reason": reason}, timestamp=self._ns(at_ms))
            for speech_id in list(self._syntheses):
                self.synthesis_ended(speech_id, at_ms, outcome="interrupted")
        except Exception:  # noqa: BLE001
            self._fail("playback_stopped")

    def false_interruption(self, at_ms: float) -> None:
        """A ``false_interruption`` event on the call span."""
        try:
            self.root.add_event("false_interruption", timestamp=self._ns(at_ms))
        except Exception:  # noqa: BLE001
            self._fail("false_interruption")

    # ------------------------------------------------------------------ call control

    def transfer(self, target_kind: str, at_ms: float) -> None:
        """A ``transfer`` span, open until the result (or the call's end)."""
        try:
            if self._ended:
                return
            self._transfer = self._tracer.start_span(
                "transfer",
                context=self._root_ctx,
                start_time=self._ns(at_ms),
                attributes={**self._attrs, "parley.transfer.target_kind": target_kind},
            )
        except Exception:  # noqa: BLE001
            self._fail("transfer")

    def transfer_result(self, accepted: bool, at_ms: float) -> None:
        """End the transfer span with its outcome."""
        try:
            span, self._transfer = self._transfer, None
            if span is not None:
                span.set_attribute("parley.outcome", "accepted" if accepted else "failed")
                if not accepted:
                    span.set_status(Status(StatusCode.ERROR, "transfer failed"))
                span.end(self._ns(at_ms))
        except Exception:  # noqa: BLE001
            self._fail("transfer_result")

    def hang_up(self, at_ms: float) -> None:
        """A ``hang_up`` span, open until the call ends."""
        try:
            if self._ended:
                return
            self._others.append(
                self._tracer.start_span(
                    "hang_up",
                    context=self._root_ctx,
                    start_time=self._ns(at_ms),
                    attributes=dict(self._attrs),
                )
            )
        except Exception:  # noqa: BLE001
            self._fail("hang_up")

    def end(self, reason: str, at_ms: float) -> None:
        """End every open span, then the call span with ``parley.end_reason``."""
        try:
            if self._ended:
                return
            self._ended = True
            for rid in list(self._requests):
                self.model_request_ended(rid, at_ms, outcome="cancelled")
            for sid in list(self._syntheses):
                self.synthesis_ended(sid, at_ms, outcome="interrupted")
            for tid in list(self._tools):
                self.tool_ended(tid, at_ms, outcome="cancelled")
            if self._transfer is not None:
                self._transfer.set_attribute("parley.outcome", "call_ended")
                self._transfer.end(self._ns(at_ms))
                self._transfer = None
            for span in self._others:
                span.end(self._ns(at_ms))
            self._others.clear()
            self._end_turn(at_ms, "answered" if self._turn_answered else "call_ended")
            self.root.set_attribute("parley.end_reason", reason)
            self.root.set_attribute("parley.turns", self._turns)
            if reason == "error":
                self.root.set_status(Status(StatusCode.ERROR, reason))
            self.root.end(self._ns(at_ms))
        except Exception:  # noqa: BLE001
            self._fail("end")
        if self._forget is not None:
            self._forget(self)


class OtelTracing:
    """The :class:`ports.tracing.Tracing` port on an OpenTelemetry ``TracerProvider``.

    Args:
        provider: The tracer provider (its processors decide where spans go).
        gen_ai_system: ``gen_ai.system`` of model requests.
        default_model: ``gen_ai.request.model`` when a request names none.
        record_tool_arguments: Record tool arguments (personal data) on tool spans.
    """

    def __init__(
        self,
        provider: trace.TracerProvider,
        *,
        gen_ai_system: str = "openai",
        default_model: str = "unknown",
        record_tool_arguments: bool = False,
    ) -> None:
        self._tracer = provider.get_tracer("parley")
        self._gen_ai_system = gen_ai_system
        self._default_model = default_model
        self._record_args = record_tool_arguments
        self._live: dict[str, OtelCallTrace] = {}

    def start_call(
        self, call_id: str, at_ms: float, *, channel: str, traceparent: str | None = None
    ) -> OtelCallTrace:
        """Start the call's root span, continuing ``traceparent`` when it is valid."""
        parent = None
        if traceparent:
            parent = _PROPAGATOR.extract({"traceparent": traceparent})
        call = OtelCallTrace(
            self._tracer,
            call_id,
            at_ms,
            channel=channel,
            parent=parent,
            gen_ai_system=self._gen_ai_system,
            default_model=self._default_model,
            record_tool_arguments=self._record_args,
            forget=self._forget,
        )
        self._live[call_id] = call
        return call

    def _forget(self, call: OtelCallTrace) -> None:
        if self._live.get(call.call_id) is call:
            del self._live[call.call_id]

    def span_context(self, call_id: str) -> trace.SpanContext | None:
        """The root span context of live call ``call_id`` (for log records), if any."""
        call = self._live.get(call_id)
        return None if call is None else call.root.get_span_context()
