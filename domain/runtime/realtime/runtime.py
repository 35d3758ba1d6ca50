"""The realtime runtime: the core's driving port when ``PARLEY_PIPELINE=realtime``."""

from __future__ import annotations

import logging

from domain.runtime.config import RuntimeConfig, RuntimeDeps
from domain.runtime.realtime.call import RealtimeCallRun
from domain.runtime.realtime.config import RealtimeDeps
from domain.runtime.runtime import CallRuntime
from domain.session import Conversation
from ports import CallSummary, InboundCall

logger = logging.getLogger(__name__)


class RealtimeCallRuntime(CallRuntime):
    """Runs calls over a realtime speech-to-speech session, one per call.

    Outbound audio of every call goes through the runtime's one
    :class:`~domain.runtime.pacer.Pacer`, as in the cascade.

    Args:
        conversation: The conversation state machine (the cascade's).
        deps: The ports shared with the cascade (tools, stores, clock, metrics, telephony).
        realtime: The realtime model and its options.
        config: Runtime tuning; defaults when omitted.
    """

    def __init__(
        self,
        conversation: Conversation,
        deps: RuntimeDeps,
        realtime: RealtimeDeps,
        config: RuntimeConfig | None = None,
    ) -> None:
        super().__init__(conversation, deps, config)
        self._realtime = realtime

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Own ``call`` from its media stream's start to its close (see ``CallRuntime``)."""
        logger.info("realtime call %s started (%s)", call.info.call_id, call.info.channel)
        run = RealtimeCallRun(
            self._conversation, self._deps, self._config, call, self._realtime, pacer=self._pacer
        )
        summary = await run.run()
        logger.info(
            "realtime call %s ended: %s after %.0f ms",
            summary.call_id,
            summary.end_reason,
            summary.duration_ms,
        )
        return summary
