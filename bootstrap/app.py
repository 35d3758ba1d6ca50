"""The app factory: a Starlette app wired from an :class:`ApplicationContainer`.

``create_app(container)`` returns an app whose lifespan is one step: it opens the adapters
(``init_resources``), builds the HTTP adapter and the ACS gateway over the real call handler,
``CallControl`` and call event router, mounts it (503 until then), and on shutdown drains live
calls and closes everything. Tests override providers on the container first::

    container = build_container(settings)
    container.adapters.stt.override(providers.Object(FakeSpeechToText(["hello"])))
    app = create_app(container)

``create_app_from_env()`` is the zero-argument factory ``uvicorn --factory`` and
``parley serve --reload`` use.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from adapters.acs.router import CallEventRouter
from adapters.http import CallAdmission, ServerLimits, build_app
from adapters.http.browser import CLOSE_TRY_AGAIN_LATER
from adapters.http.call_picture import CALL_PICTURE_PATH
from adapters.http.live_calls import LiveCallRegistry, ObservedHandler
from adapters.http.loop_lag import LoopLagMonitor
from adapters.http.metrics import PrometheusCallMetrics
from bootstrap.browser import (
    agent_names,
    browser_access,
    browser_routes,
    start_agent_handler,
)
from bootstrap.call_records import records_routes
from bootstrap.containers import ApplicationContainer, build_container, resolve
from bootstrap.outbound import Outbound, VariablesHandler, variables_builder
from bootstrap.settings import Settings, load_settings
from domain.records import RecordedCallHandler
from ports import CallControl, CallHandler, CallMetrics, HealthCheck, StoreError

logger = logging.getLogger(__name__)


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
    history = await resolve(adapters.call_history)
    probes["call_records"] = history if isinstance(history, HealthCheck) else StoreProbe(history)
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
    settings: Settings,
    *,
    handler: CallHandler,
    call_control: CallControl | None,
    router: CallEventRouter,
    metrics: CallMetrics,
    admission: CallAdmission,
    on_gateway: Callable[[Any], None] | None = None,
) -> Sequence[BaseRoute]:
    """The selected telephony provider's routes, over the opened adapters.

    ACS (``POST /api/acs/events``, ``POST /api/acs/callbacks``, ``WS /ws/acs/media``) by
    :func:`bootstrap.acs.acs_routes_for`; Twilio (``POST /api/twilio/voice``,
    ``/api/twilio/status``, ``/api/twilio/transfer``, ``WS /ws/twilio/media``) by
    :func:`bootstrap.twilio.twilio_routes_for`. Both share ``admission`` so the
    concurrent-call limit covers telephony calls too. Empty when the provider is not
    configured: the HTTP adapter then serves 503 placeholders on the ACS paths.
    """
    if settings.providers.telephony == "twilio":
        from bootstrap.twilio import twilio_routes_for

        return twilio_routes_for(
            settings,
            call_control=call_control,
            handler=handler,
            metrics=metrics,
            admission=admission,
            router=router,
            on_gateway=on_gateway,
        )
    from bootstrap.acs import acs_routes_for

    return acs_routes_for(
        settings,
        call_control=call_control,
        handler=handler,
        metrics=metrics,
        admission=admission,
        router=router,
        on_gateway=on_gateway,
    )


class ServingSlot:
    """The ASGI app the server mounts: 503 until the lifespan has opened the adapters.

    The routes need opened adapters (the call handler, ``CallControl``, the call event
    router), so the HTTP app is built in the lifespan and put here; before that and after
    shutdown, HTTP requests get 503 ``{"error": "not_ready"}`` and WebSockets close 1013.
    """

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope`` with the mounted app, or refuse it while there is none."""
        app = self.app
        if app is not None:
            await app(scope, receive, send)
        elif scope["type"] == "websocket":
            await WebSocketClose(code=CLOSE_TRY_AGAIN_LATER, reason="not ready")(
                scope, receive, send
            )
        elif scope["type"] == "http":
            response = JSONResponse(
                {"error": "not_ready", "detail": "the server is starting or stopping"},
                status_code=503,
            )
            await response(scope, receive, send)


@contextlib.asynccontextmanager
async def opened_resources(container: ApplicationContainer) -> AsyncIterator[None]:
    """Open every container resource (the selected adapters); close them all on exit."""
    try:
        opened: Any = container.init_resources()
        if inspect.isawaitable(opened):
            await opened
        yield
    finally:
        result: Any = container.shutdown_resources()
        if inspect.isawaitable(result):
            await result


def call_picture_for(container: ApplicationContainer) -> BaseRoute:
    """``GET /api/calls/{call_id}/call.html`` over the transcript log (operator key needed)."""
    from adapters.http.call_picture import call_picture_route
    from bootstrap.call_report import render_recorded_call

    secret = getattr(container.core.settings().server, "operator_key", None)
    key = secret.get_secret_value() if secret is not None else None

    async def render(call_id: str) -> str:
        transcripts = await resolve(container.adapters.transcripts)
        try:
            return await render_recorded_call(transcripts, call_id)
        except KeyError:
            # Gone from the transcript log (its TTL): the durable call record has the lines.
            from bootstrap.call_records_views import render_history_call

            history = await resolve(container.adapters.call_history)
            return await render_history_call(history, call_id)

    return call_picture_route(render, key)


def create_app(
    container: ApplicationContainer, *, extra_routes: Sequence[BaseRoute] | None = None
) -> Starlette:
    """Build the Starlette app for ``container`` (override providers before calling).

    The lifespan is one step: open the resources, resolve the real call handler, call control
    and call event router, build the HTTP app with the ACS gateway over them, and mount it
    (:class:`ServingSlot` answers 503 until then). On shutdown the mounted app drains live
    calls, then the resources close.

    Args:
        container: The composition root.
        extra_routes: Routes to add instead of :func:`telephony_routes` (tests).

    Returns:
        The app; ``app.state.admission`` is the call admission the server drains.
    """
    settings: Settings = container.core.settings()
    limits = limits_from(settings)
    admission = CallAdmission(limits.max_concurrent_calls)
    slot = ServingSlot()
    live_calls = LiveCallRegistry()
    lag = LoopLagMonitor(container.adapters.metrics_registry())
    access = browser_access(settings, lambda: agent_names(container))
    outbound = Outbound(settings, container.adapters.outbound_counter())

    async def serving_app() -> Starlette:
        # Every channel's calls pass the registry, so the operator console sees them all.
        records = await resolve(container.records.records)
        handler: CallHandler = ObservedHandler(
            RecordedCallHandler(
                VariablesHandler(
                    await start_agent_handler(container),
                    variables_builder(
                        container,
                        await resolve(container.runtime.deps),
                        container.runtime.config(),
                    ),
                ),
                records.recorder,
            ),
            live_calls,
        )
        metrics: PrometheusCallMetrics = container.adapters.metrics()
        routes = list(extra_routes) if extra_routes is not None else None
        if routes is None:
            routes = [
                *telephony_routes(
                    settings,
                    handler=handler,
                    call_control=await resolve(container.adapters.call_control),
                    router=await resolve(container.adapters.call_router),
                    metrics=metrics,
                    admission=admission,
                    on_gateway=outbound.on_gateway,
                ),
                call_picture_for(container),
                *outbound.routes(lambda: agent_names(container)),
            ]
        tokens = container.records.recording_tokens()
        routes.extend(records_routes(settings, records, tokens))
        routes.extend(
            browser_routes(
                settings,
                access,
                live_calls,
                lambda: agent_names(container),
                # The recorded-call page is served with the telephony routes, not in tests.
                recorded_view=CALL_PICTURE_PATH if extra_routes is None else None,
            )
        )
        app = build_app(
            handler=handler,
            metrics=metrics,
            metrics_registry=container.adapters.metrics_registry(),
            probes=await readiness_probes(container),
            limits=limits,
            admission=admission,
            extra_routes=routes,
            browser_access=access,
        )
        agents = container.core.agents()
        logger.info(
            "ready: agents %s (start %s), tools %s",
            ", ".join(a.name for a in agents.graph.agents),
            agents.graph.start,
            ", ".join(sorted(container.core.tool_registry().names())) or "none",
        )
        return app

    @contextlib.asynccontextmanager
    async def lifespan(outer: Starlette) -> AsyncIterator[None]:
        async with opened_resources(container):
            app = await serving_app()
            lag.start()
            try:
                # The mounted app's own lifespan drains live calls before the resources close.
                async with app.router.lifespan_context(app):
                    slot.app = app
                    outbound.start()
                    try:
                        yield
                    finally:
                        await outbound.aclose()
                slot.app = None
            finally:
                await lag.stop()

    outer = Starlette(routes=[Mount("", app=slot)], lifespan=lifespan)
    outer.state.admission = admission
    outer.state.limits = limits
    provider = container.adapters.tracer_provider()
    if provider is not None:
        from adapters.otel.setup import instrument_http_server

        instrument_http_server(outer, provider)
    return outer


def create_app_from_env() -> Starlette:
    """``create_app`` over settings from the environment and ``./.env`` (uvicorn factory)."""
    return create_app(build_container(load_settings(Path(".env"))))
