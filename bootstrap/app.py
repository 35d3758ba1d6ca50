"""The app factory: a Starlette app wired from an :class:`ApplicationContainer`.

``create_app(container)`` builds the HTTP adapter around the container's providers; the
lifespan opens the adapters (``init_resources``), resolves the call handler and the readiness
probes, and closes everything on shutdown. Tests override providers on the container first::

    container = build_container(settings)
    container.adapters.stt.override(providers.Object(FakeSpeechToText(["hello"])))
    app = create_app(container)

``create_app_from_env()`` is the zero-argument factory ``uvicorn --factory`` and
``parley serve --reload`` use.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from adapters.http import CallAdmission, ServerLimits, build_app
from bootstrap.containers import ApplicationContainer, build_container, resolve
from bootstrap.settings import Settings, load_settings
from ports import CallHandler, CallSummary, HealthCheck, InboundCall, StoreError

logger = logging.getLogger(__name__)


class DeferredHandler:
    """The driving port, resolved when the app starts (adapters are opened then)."""

    def __init__(self) -> None:
        self.target: CallHandler | None = None

    async def handle_call(self, call: InboundCall) -> CallSummary:
        """Hand ``call`` to the resolved handler.

        Raises:
            RuntimeError: The app has not started (a bug in the caller).
        """
        if self.target is None:
            raise RuntimeError("the application has not started")
        return await self.target.handle_call(call)


class StoreProbe:
    """Readiness of a session store without a probe of its own: one cheap read."""

    def __init__(self, store: object) -> None:
        self._store = store

    async def health_check(self) -> None:
        """Read a key that does not exist.

        Raises:
            StoreError: The store failed.
        """
        get = getattr(self._store, "get", None)
        if get is None:
            raise StoreError("store has no get()")
        await get("parley:ready-probe")


async def readiness_probes(container: ApplicationContainer) -> dict[str, HealthCheck]:
    """A probe per configured adapter that offers ``health_check()``, plus the store."""
    adapters = container.adapters
    probes: dict[str, HealthCheck] = {}
    sessions = await resolve(adapters.sessions)
    probes["store"] = sessions if isinstance(sessions, HealthCheck) else StoreProbe(sessions)
    for name, provider in (
        ("speech_to_text", adapters.stt),
        ("text_to_speech", adapters.tts),
        ("language_model", adapters.llm),
        ("call_control", adapters.call_control),
    ):
        adapter = await resolve(provider)
        if isinstance(adapter, HealthCheck):
            probes[name] = adapter
    return probes


def limits_from(settings: Settings) -> ServerLimits:
    """The HTTP adapter's limits from ``PARLEY_*`` settings."""
    server = settings.server
    return ServerLimits(
        max_concurrent_calls=server.max_concurrent_calls,
        max_message_bytes=server.max_message_bytes,
        max_request_bytes=server.max_request_bytes,
        idle_timeout_s=server.idle_timeout_s,
        drain_timeout_s=server.drain_timeout_s,
        ready_timeout_s=server.ready_timeout_s,
    )


def telephony_routes(
    container: ApplicationContainer, admission: CallAdmission, handler: CallHandler
) -> Sequence[BaseRoute]:
    """ACS routes (``POST /api/acs/events``, ``POST /api/acs/callbacks``, ``WS /ws/acs/media``).

    Built by :func:`bootstrap.acs.acs_routes_for` (gateway + routes), sharing ``admission`` so
    the concurrent-call limit covers ACS calls too. Empty when ACS is not configured: the HTTP
    adapter then serves 503 placeholders on those paths.
    """
    from bootstrap.acs import acs_routes_for
    from bootstrap.call_router import LateCallEventRouter

    return acs_routes_for(
        container.core.settings(),
        call_control_provider=container.adapters.call_control,
        handler=handler,
        metrics=container.adapters.metrics(),
        admission=admission,
        router=LateCallEventRouter(container.adapters.call_router),
    )


def call_picture_for(container: ApplicationContainer) -> BaseRoute:
    """``GET /api/calls/{call_id}/call.html`` over the transcript log (operator key needed)."""
    from adapters.http.call_picture import call_picture_route
    from bootstrap.call_report import render_recorded_call

    secret = getattr(container.core.settings().server, "operator_key", None)
    key = secret.get_secret_value() if secret is not None else None

    async def render(call_id: str) -> str:
        transcripts = await resolve(container.adapters.transcripts)
        return await render_recorded_call(transcripts, call_id)

    return call_picture_route(render, key)


def create_app(
    container: ApplicationContainer, *, extra_routes: Sequence[BaseRoute] | None = None
) -> Starlette:
    """Build the Starlette app for ``container`` (override providers before calling).

    Args:
        container: The composition root.
        extra_routes: Routes to add instead of :func:`telephony_routes` (tests).

    Returns:
        The app; its lifespan opens and closes the container's resources.
    """
    settings: Settings = container.core.settings()
    limits = limits_from(settings)
    admission = CallAdmission(limits.max_concurrent_calls)
    handler = DeferredHandler()
    probes: dict[str, HealthCheck] = {}

    async def start() -> None:
        opened: Any = container.init_resources()
        if inspect.isawaitable(opened):
            await opened
        handler.target = await resolve(container.runtime.handler)
        probes.update(await readiness_probes(container))
        agents = container.core.agents()
        logger.info(
            "ready: agents %s (start %s), tools %s",
            ", ".join(a.name for a in agents.graph.agents),
            agents.graph.start,
            ", ".join(sorted(container.core.tool_registry().names())) or "none",
        )

    async def stop() -> None:
        result: Any = container.shutdown_resources()
        if inspect.isawaitable(result):
            await result

    routes = (
        extra_routes
        if extra_routes is not None
        else [*telephony_routes(container, admission, handler), call_picture_for(container)]
    )
    app = build_app(
        handler=handler,
        metrics=container.adapters.metrics(),
        metrics_registry=container.adapters.metrics_registry(),
        probes=probes,
        limits=limits,
        admission=admission,
        extra_routes=routes,
        on_startup=[start],
        on_shutdown=[stop],
    )
    provider = container.adapters.tracer_provider()
    if provider is not None:
        from adapters.otel.setup import instrument_http_server

        instrument_http_server(app, provider)
    return app


def create_app_from_env() -> Starlette:
    """``create_app`` over settings from the environment and ``./.env`` (uvicorn factory)."""
    return create_app(build_container(load_settings(Path(".env"))))
