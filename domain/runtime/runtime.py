"""The call runtime: the core's implementation of the driving port ``ports.CallHandler``."""

from __future__ import annotations

import logging

from domain.runtime.call import CallRun
from domain.runtime.config import RuntimeConfig, RuntimeDeps
from domain.runtime.pacer import Pacer
from domain.session import Conversation
from ports import CallSummary, InboundCall

logger = logging.getLogger(__name__)


class CallRuntime:
    """Runs calls: one :class:`~domain.runtime.call.CallRun` per ``handle_call``.

    The runtime holds immutable configuration, the shared ports and the process's one
    :class:`~domain.runtime.pacer.Pacer` (which sends every call's due frames per tick), so
    one instance serves every call of a process concurrently.

    Args:
        conversation: The conversation state machine (agent graph and policies).
        deps: The ports every call drives.
        config: Runtime tuning; defaults when omitted.
    """

    def __init__(
        self,
        conversation: Conversation,
        deps: RuntimeDeps,
        config: RuntimeConfig | None = None,
    ) -> None:
        self._conversation = conversation
        self._deps = deps
        self._config = config if config is not None else RuntimeConfig()
        self._pacer = Pacer(deps.clock, self._config.pacing_batch_ms)

    @property
    def config(self) -> RuntimeConfig:
        """The runtime's configuration."""
        return self._config

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Own ``call`` from its media stream's start to its close.

        The greeting is spoken when the stream starts; the call ends when the stream closes,
        the telephony provider reports it disconnected, the conversation hangs up or
        transfers, or the media stream stays idle past ``media_idle_timeout_ms``. Every task
        the call started has finished when this returns.

        Args:
            call: Media stream, call information, optional call events and observer.

        Returns:
            How the call ended, with turn and barge-in counts and its duration in ms.

        Raises:
            asyncio.CancelledError: When cancelled, after the call has been ended cleanly.
        """
        logger.info("call %s started (%s)", call.info.call_id, call.info.channel)
        summary = await CallRun(
            self._conversation, self._deps, self._config, call, pacer=self._pacer
        ).run()
        logger.info(
            "call %s ended: %s after %.0f ms",
            summary.call_id,
            summary.end_reason,
            summary.duration_ms,
        )
        return summary
