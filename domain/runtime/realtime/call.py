"""One realtime call: the cascade's call run with the realtime session in place of its engines.

Everything but the media sides is the cascade's :class:`~domain.runtime.call.CallRun`: the
conversation pump, timers, transcripts, saves, telephony, latency records. Here the output is
a :class:`~domain.runtime.realtime.output.RealtimeOutput`, the model side a
:class:`~domain.runtime.realtime.responses.RealtimeResponses`, the media reader a
:class:`~domain.runtime.realtime.inbound.RealtimeInbound`, and the session's events are routed
to them in arrival order.
"""

from __future__ import annotations

import logging
import weakref

from domain.runtime.call import CallRun
from domain.runtime.config import RuntimeConfig, RuntimeDeps
from domain.runtime.errors import error_code
from domain.runtime.output import SpeechOutput
from domain.runtime.pacer import Pacer
from domain.runtime.realtime.config import RealtimeDeps
from domain.runtime.realtime.inbound import RealtimeInbound
from domain.runtime.realtime.link import PORT, SessionLink
from domain.runtime.realtime.output import RealtimeOutput
from domain.runtime.realtime.responses import RealtimeResponses
from domain.session import Conversation
from ports import (
    AudioFormat,
    ChatMessage,
    InboundCall,
    RateLimitedError,
    Role,
    VoiceActivityDetector,
)
from ports.realtime import (
    FunctionCall,
    InputTranscript,
    RealtimeError,
    RealtimeEvent,
    ResponseAudio,
    ResponseFinished,
    ResponseStarted,
    ResponseTranscript,
    SessionReconnected,
    SpeechStarted,
    SpeechStopped,
    TurnDetection,
)

logger = logging.getLogger(__name__)


class RealtimeCallRun(CallRun):
    """Everything one realtime call owns. Use :meth:`run` once.

    Args:
        conversation: The state machine.
        deps: The cascade's ports (tools, stores, clock, metrics, telephony, VAD, tracing).
        config: Runtime tuning.
        call: The inbound call.
        realtime: The realtime model and options.
        pacer: The process's pacer (one for every call, cascade or realtime); without it, a
            sender task per call.
    """

    def __init__(
        self,
        conversation: Conversation,
        deps: RuntimeDeps,
        config: RuntimeConfig,
        call: InboundCall,
        realtime: RealtimeDeps,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__(conversation, deps, config, call, pacer=pacer)
        self._realtime = realtime
        self._pacer = pacer
        self._responses = RealtimeResponses(
            llm=deps.llm,
            tools=deps.tools,
            config=config,
            clock=deps.clock,
            metrics=deps.metrics,
            tasks=self._tasks,
            watchdog=self._watchdog,
            latency=self._latency,
            listener=weakref.proxy(self),
            call_id=self._call_id,
        )
        self._model = self._responses
        self._link: SessionLink | None = None
        self._rt_inbound: RealtimeInbound | None = None

    @property
    def link(self) -> SessionLink | None:
        """The call's session link, once the stream started."""
        return self._link

    def _start_audio(self, fmt: AudioFormat) -> SpeechOutput:
        me = weakref.proxy(self)
        deps, config, responses = self._deps, self._config, self._responses
        link = SessionLink(
            model=self._realtime.model,
            fmt=fmt,
            tasks=self._tasks,
            metrics=self._metrics,
            timeout_ms=config.port_timeout_ms,
            listener=me,
            call_id=self._call_id,
        )
        output = RealtimeOutput(
            media=self._call.media,
            clock=self._clock,
            metrics=self._metrics,
            config=config,
            fmt=fmt,
            tasks=self._tasks,
            watchdog=self._watchdog,
            listener=weakref.proxy(self._speech),
            latency=self._latency,
            request_line=responses.request_line,
            truncate=lambda item, ms: link.request(lambda s: s.truncate(item, ms)),
            dropped=responses.dropped,
            pacer=self._pacer,
        )
        responses.bind(
            link=link,
            output=output,
            realtime=self._realtime,
            graph=self._conversation.graph,
            history=lambda: me.replay_history(),
        )
        agent = self._state.agent or self._conversation.graph.start
        initial = responses.configured(agent)
        vad: VoiceActivityDetector | None = None
        if responses.parley_vad or any(
            o.turn_detection is not None and o.turn_detection.mode is TurnDetection.PARLEY
            for o in self._realtime.agents.values()
        ):
            try:
                vad = deps.vad_factory(fmt)
            except Exception as exc:  # noqa: BLE001 (any adapter failure becomes an event)
                logger.warning("call %s: no voice activity detection: %r", self._call_id, exc)
                self.provider_failed("vad", error_code(exc))
        self._rt_inbound = RealtimeInbound(
            link=link,
            vad=vad,
            parley_vad=lambda: responses.parley_vad,
            heard_final=responses.heard_final,
            clock=self._clock,
            metrics=self._metrics,
            config=config,
            fmt=fmt,
            watchdog=self._watchdog,
            latency=self._latency,
            listener=me,
            call_id=self._call_id,
        )
        self._inbound = self._rt_inbound
        self._link = link
        link.open(initial)
        return output

    def replay_history(self) -> tuple[list[ChatMessage], int]:
        """The history to replay into a new session, and how much of it is committed.

        That is the conversation's history, plus the words of the reply still playing (the
        old session produced them; the history gets them only once they have played).
        """
        state = self._state
        history = list(state.history)
        reply = state.reply
        if reply is not None:
            text = " ".join((reply.prefix + reply.text[reply.committed :]).split())
            if text:
                history.append(ChatMessage(Role.ASSISTANT, text, agent=reply.agent))
        return history, len(state.history)

    # LinkListener ------------------------------------------------------------------

    def session_event(self, event: RealtimeEvent) -> None:  # noqa: C901 (one branch per type)
        """Route one server event to the side it concerns."""
        responses, inbound = self._responses, self._rt_inbound
        kind = type(event)
        if kind is ResponseAudio:
            responses.audio(event)  # type: ignore[arg-type]
        elif kind is ResponseTranscript:
            responses.transcript(event)  # type: ignore[arg-type]
        elif kind is InputTranscript and inbound is not None:
            inbound.transcript(event)  # type: ignore[arg-type]
        elif kind is SpeechStarted and inbound is not None:
            inbound.speech_started(event)  # type: ignore[arg-type]
        elif kind is SpeechStopped and inbound is not None:
            inbound.speech_stopped(event)  # type: ignore[arg-type]
        elif kind is FunctionCall:
            responses.function_call(event)  # type: ignore[arg-type]
        elif kind is ResponseStarted:
            responses.started(event)  # type: ignore[arg-type]
        elif kind is ResponseFinished:
            responses.finished(event)  # type: ignore[arg-type]
        elif isinstance(event, RealtimeError):
            self._metrics.provider_error(PORT, event.error.code)
            logger.warning("call %s: realtime service error: %s", self._call_id, event.error)
            if isinstance(event.error, RateLimitedError):
                responses.rate_limited(event.error.code)
        elif isinstance(event, SessionReconnected):
            logger.info("call %s: realtime session reconnected (%s)", self._call_id, event.reason)
            if self._link is not None:
                self._link.reconnected()
            responses.reconnected()

    def session_lost(self, code: str) -> None:
        """The session is gone: pending responses fail, the conversation counts a failure."""
        self._responses.lost(code)
        self.provider_failed(PORT, code)
