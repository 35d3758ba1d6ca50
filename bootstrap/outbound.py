"""Wiring of outbound calls: the dialer over the telephony gateway, its routes and counter.

The gateway (ACS or Twilio) is built with the telephony routes; it hands itself to an
:class:`Outbound` holder, which builds the :class:`~adapters.outbound.Dialer` over it with the
``PARLEY_OUTBOUND_*`` limits. The app's lifespan starts and closes the dialer; the routes
(``POST /api/calls``, ``GET /api/outbound-calls``) answer 503 while there is none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from prometheus_client import Counter
from starlette.routing import BaseRoute

from adapters.http.outbound_api import outbound_routes
from adapters.outbound import Dialer, DialerLimits, DialRequest, DialResult, Outcome
from bootstrap.settings import Settings
from ports import CallHandler, CallSummary, InboundCall

logger = logging.getLogger(__name__)


class _CallerIdPlacer:
    """A gateway's ``place_call`` with the deployment's default caller id filled in."""

    def __init__(self, gateway: Any, caller_id: str) -> None:
        self._gateway = gateway
        self._caller_id = caller_id

    async def place_call(self, request: DialRequest) -> Any:
        if self._caller_id and not request.caller_id:
            request = replace(request, caller_id=self._caller_id)
        result: Any = await self._gateway.place_call(request)
        return result


class Outbound:
    """The process's dialer, once a gateway exists.

    Args:
        settings: All settings (``PARLEY_OUTBOUND_*``, ``PARLEY_OPERATOR_KEY``).
        counter: ``parley_outbound_calls_total{outcome}`` (the container's).
    """

    def __init__(self, settings: Settings, counter: Counter) -> None:
        self._settings = settings
        self.dialer: Dialer | None = None
        self._counter = counter

    def on_gateway(self, gateway: Any) -> None:
        """The telephony gateway is built: the dialer places its calls through it."""
        outbound = self._settings.outbound
        self.dialer = Dialer(
            _CallerIdPlacer(gateway, outbound.caller_id),
            DialerLimits(
                max_queue=outbound.max_queue,
                max_concurrent=outbound.max_concurrent,
                calls_per_second=outbound.calls_per_second,
            ),
            on_outcome=self._count,
        )
        logger.info(
            "outbound calls on: %d at once, %.2f per second, queue %d",
            outbound.max_concurrent,
            outbound.calls_per_second,
            outbound.max_queue,
        )

    def _count(self, outcome: Outcome) -> None:
        self._counter.labels(outcome=outcome.value).inc()

    def routes(self, agents: Callable[[], Collection[str]]) -> list[BaseRoute]:
        """``POST /api/calls`` and ``GET /api/outbound-calls[/{id}]``."""
        secret = self._settings.server.operator_key
        key = secret.get_secret_value() if secret is not None else None
        return outbound_routes(lambda: self.dialer, key, agents)

    def start(self) -> None:
        """Start dialling (when there is a dialer)."""
        if self.dialer is not None:
            self.dialer.start()

    async def aclose(self) -> None:
        """Stop dialling; queued requests end as cancelled."""
        if self.dialer is not None:
            await self.dialer.aclose()


__all__ = ["DialResult", "Outbound", "VariablesHandler", "variables_builder"]


class VariablesHandler:
    """Runs a call placed with template variables on agents rendered with them.

    An outbound call may carry ``variables`` for the prompt templates (``POST /api/calls``);
    its agents are loaded again with them (instructions, greeting and voicemail message
    rendered), off the event loop, and the handler built for them is kept for the next call
    with the same variables (the ``max_cached`` most recent sets). Calls without variables go
    to ``inner`` unchanged.

    Args:
        inner: The handler of the configured agents (start agents included).
        build: Builds the handler for a variable set and a start agent ("" for the graph's).
        max_cached: Variable sets whose handlers are kept.
    """

    def __init__(
        self,
        inner: CallHandler,
        build: Callable[[tuple[tuple[str, str], ...], str], CallHandler],
        *,
        max_cached: int = 32,
    ) -> None:
        self._inner = inner
        self._build = build
        self._max = max_cached
        self._cache: OrderedDict[tuple[tuple[tuple[str, str], ...], str], CallHandler] = (
            OrderedDict()
        )

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Run ``call`` with its variables' agents (or on ``inner`` without variables)."""
        variables = call.info.variables
        if not variables:
            return await self._inner.handle_call(call)
        key = (variables, call.info.start_agent)
        handler = self._cache.get(key)
        if handler is None:
            try:
                handler = await asyncio.to_thread(self._build, *key)
            except Exception:
                logger.exception("agents with call %s's variables failed", call.info.call_id)
                return await self._inner.handle_call(call)
            self._cache[key] = handler
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return await handler.handle_call(call)


def variables_builder(
    container: Any, deps: Any, config: Any
) -> Callable[[tuple[tuple[str, str], ...], str], CallHandler]:
    """Builds a runtime over the agent files rendered with an outbound call's variables."""
    settings: Settings = container.core.settings()

    def build(variables: tuple[tuple[str, str], ...], start: str) -> CallHandler:
        from bootstrap.agents import load_agents
        from bootstrap.containers import CallContextHandler
        from domain.runtime import CallRuntime
        from domain.session import Conversation

        agents = load_agents(
            Path(settings.server.agents_dir),
            tool_names=container.core.tool_registry().names(),
            tts_provider=settings.providers.tts,
            dialog_threshold=settings.local.dialog_threshold,
            extra_variables=dict(variables),
        )
        graph = agents.graph
        if start and graph.get(start) is not None:
            graph = dataclasses.replace(graph, start=start)
        return CallContextHandler(CallRuntime(Conversation(graph, agents.policy), deps, config))

    return build
