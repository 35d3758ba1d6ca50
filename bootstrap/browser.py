"""Wiring of the browser client, its token policy and the operator console (issue 12, 17).

``PARLEY_BROWSER_ENABLED`` empty means: the browser socket and talk page are on only when no
telephony (ACS) is configured, so a production ACS deployment does not expose them by default.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any

from starlette.routing import BaseRoute

from adapters.http.browser_auth import BrowserAccess, BrowserTokens
from adapters.http.live_calls import LiveCallRegistry
from adapters.http.pages import page_routes
from bootstrap.containers import CallContextHandler, resolve
from bootstrap.realtime import build_call_runtime
from bootstrap.settings import Settings
from domain.session import Conversation
from ports import CallHandler, CallSummary, InboundCall

logger = logging.getLogger(__name__)

__all__ = [
    "StartAgentHandler",
    "agent_names",
    "browser_access",
    "browser_routes",
    "start_agent_handler",
]


def agent_names(container: Any) -> list[str]:
    """The configured agents' names, the start agent first."""
    graph = container.core.agents().graph
    names = [a.name for a in graph.agents]
    return sorted(names, key=lambda n: n != graph.start)


def browser_access(
    settings: Settings, agents: Callable[[], Collection[str]] | None = None
) -> BrowserAccess:
    """The switch and token policy from ``PARLEY_BROWSER_*`` settings.

    Args:
        settings: The settings.
        agents: Names a browser call may choose to start with (see :class:`StartAgentHandler`).
    """
    browser = settings.browser
    enabled = browser.browser_enabled
    if enabled is None:
        # As bootstrap.acs.acs_configured (not imported: it pulls in the Azure SDK).
        acs, twilio = settings.acs, settings.twilio
        enabled = not (
            (settings.providers.telephony == "acs" and (acs.connection_string or acs.endpoint))
            or (
                settings.providers.telephony == "twilio"
                and twilio.account_sid
                and twilio.auth_token is not None
                and twilio.public_base_url
            )
        )
    secret = browser.browser_token_secret
    tokens = BrowserTokens(
        secret.get_secret_value().encode() if secret is not None else None,
        ttl_s=browser.browser_token_ttl_s,
    )
    key = browser.browser_key.get_secret_value() if browser.browser_key is not None else None
    return BrowserAccess(enabled=enabled, tokens=tokens, key=key or None, agents=agents)


def browser_routes(
    settings: Settings,
    access: BrowserAccess,
    registry: LiveCallRegistry,
    agents: Callable[[], Sequence[str]],
    recorded_view: str | None = None,
) -> list[BaseRoute]:
    """The talk page, the console, their static files and JSON API.

    ``recorded_view`` is the recorded-call page's path template, linked from ended calls.
    """
    operator = settings.server.operator_key
    return page_routes(
        access=access,
        registry=registry,
        operator_key=operator.get_secret_value() if operator is not None else None,
        agents=agents,
        recorded_view=recorded_view,
    )


class StartAgentHandler:
    """Routes a call to a runtime whose graph starts at ``call.info.start_agent``.

    The domain keeps one start agent per graph; a caller's choice (the talk page's agent
    selector) gets the same graph with another start, built once per agent and reused.

    Args:
        default: The handler of the configured graph.
        build: Builds the handler for a graph starting at the given agent.
        names: Agents that may be chosen.
        default_name: The configured start agent.
    """

    def __init__(
        self,
        default: CallHandler,
        build: Callable[[str], CallHandler],
        *,
        names: Collection[str],
        default_name: str,
    ) -> None:
        self._default = default
        self._build = build
        self._names = frozenset(names)
        self._default_name = default_name
        self._by_agent: dict[str, CallHandler] = {}

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Run ``call`` on the handler of its chosen start agent (the default when none)."""
        name = call.info.start_agent
        if not name or name == self._default_name:
            return await self._default.handle_call(call)
        if name not in self._names:
            # The browser endpoint validates the choice; other channels never set it.
            logger.warning("unknown start agent %r; using %s", name, self._default_name)
            return await self._default.handle_call(call)
        handler = self._by_agent.get(name)
        if handler is None:
            handler = self._by_agent[name] = self._build(name)
        return await handler.handle_call(call)


async def start_agent_handler(container: Any) -> StartAgentHandler:
    """The container's call handler, plus one per other agent a caller may start with."""
    default = await resolve(container.runtime.handler)
    agents = container.core.agents()
    deps = await resolve(container.runtime.deps)
    config = container.runtime.config()
    settings = container.core.settings()
    realtime = await resolve(container.adapters.realtime)

    def build(name: str) -> CallHandler:
        graph = dataclasses.replace(agents.graph, start=name)
        conversation = Conversation(graph, agents.policy)
        # The same pipeline as the default handler (PARLEY_PIPELINE).
        runtime = build_call_runtime(settings, conversation, deps, config, realtime, agents)
        return CallContextHandler(runtime)

    return StartAgentHandler(
        default,
        build,
        names=[a.name for a in agents.graph.agents],
        default_name=agents.graph.start,
    )
