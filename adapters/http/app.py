"""The Starlette application: health, readiness, metrics, the browser call socket, ACS routes.

A driving adapter: it hands calls to the core through :class:`ports.CallHandler` and never
imports ``domain``. Bootstrap builds it with :func:`build_app`, passing the handler, the
readiness probes, the metrics adapter and the limits; ACS endpoints arrive as ``extra_routes``
(until the ACS adapter supplies them, placeholders answer 503).

Routes:

=========================  ================================================================
``GET /health``            liveness: 200 ``{"status": "ok"}`` while the process serves
``GET /ready``             readiness: every probe within its timeout; 503 naming failures
``GET /metrics``           Prometheus text from the app's own registry
``POST /api/acs/events``   Event Grid (placeholder unless supplied by ``extra_routes``)
``POST /api/acs/callbacks`` Call Automation callbacks (placeholder likewise)
``WS /ws/acs/media``       ACS media streaming (placeholder likewise)
``WS /ws/browser``         the browser protocol, ``docs/browser-protocol.md``
=========================  ================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from adapters.http.browser import (
    CLOSE_BAD_START,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHORIZED,
    BrowserMediaStream,
    read_start,
)
from adapters.http.browser_auth import BrowserAccess, BrowserAuthError
from adapters.http.limits import BodySizeLimit, CallAdmission, CallRefused, ServerLimits
from adapters.http.metrics import PrometheusCallMetrics
from ports import (
    AudioFormat,
    CallHandler,
    CallInfo,
    CallMetrics,
    HealthCheck,
    InboundCall,
    ParleyError,
)

__all__ = ["ACS_PATHS", "build_app"]

logger = logging.getLogger(__name__)

ACS_PATHS = {
    "events": "/api/acs/events",
    "callbacks": "/api/acs/callbacks",
    "media": "/ws/acs/media",
}
"""Paths the ACS adapter serves; placeholders fill those ``extra_routes`` do not."""

Hook = Callable[[], Awaitable[None]]


async def _probe(name: str, check: HealthCheck, timeout_s: float) -> str | None:
    try:
        async with asyncio.timeout(timeout_s):
            await check.health_check()
    except TimeoutError:
        return f"{name}: no answer within {timeout_s:g} s"
    except ParleyError as exc:
        return f"{name}: {exc.code}: {exc}"
    except Exception as exc:
        # A probe must not take /ready down with it; report the type only (no secrets).
        logger.warning("readiness probe %s raised %s", name, type(exc).__name__, exc_info=True)
        return f"{name}: {type(exc).__name__}"
    return None


def _placeholder_routes(supplied: Sequence[BaseRoute]) -> list[BaseRoute]:
    taken = {getattr(route, "path", None) for route in supplied}

    async def not_configured(request: Request) -> Response:
        await request.body()  # read it, so the body-size limit applies here as everywhere
        return JSONResponse(
            {"error": "acs_not_configured", "detail": "ACS is not configured on this server"},
            status_code=503,
        )

    async def not_configured_ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(CLOSE_TRY_AGAIN_LATER, "ACS media is not configured")

    routes: list[BaseRoute] = []
    if ACS_PATHS["events"] not in taken:
        routes.append(Route(ACS_PATHS["events"], not_configured, methods=["POST", "OPTIONS"]))
    if ACS_PATHS["callbacks"] not in taken:
        routes.append(Route(ACS_PATHS["callbacks"], not_configured, methods=["POST"]))
    if ACS_PATHS["media"] not in taken:
        routes.append(WebSocketRoute(ACS_PATHS["media"], not_configured_ws))
    return routes


def build_app(
    *,
    handler: CallHandler,
    metrics: CallMetrics,
    metrics_registry: CollectorRegistry,
    probes: Mapping[str, HealthCheck] | None = None,
    limits: ServerLimits | None = None,
    admission: CallAdmission | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    new_call_id: Callable[[], str] | None = None,
    browser_access: BrowserAccess | None = None,
) -> Starlette:
    """Build the HTTP/WebSocket application.

    Args:
        handler: The core's driving port; every call is handed to it.
        metrics: Where the server counts refusals and dropped messages (usually the same
            :class:`PrometheusCallMetrics` the runtime feeds).
        metrics_registry: Rendered by ``GET /metrics``.
        probes: Readiness probes by name (``store``, ``speech_to_text``...); read on each
            request, so a mapping filled by an ``on_startup`` hook works.
        limits: Request/message sizes, concurrency, idle and drain timeouts.
        admission: Shared call admission (bootstrap passes the one the ACS routes use too);
            a new one from ``limits`` when omitted.
        extra_routes: Routes added first (ACS endpoints from the ACS adapter).
        on_startup: Awaited in order in the lifespan before serving (resources).
        on_shutdown: Awaited in reverse order after live calls drained.
        new_call_id: Id generator for browser calls (``uuid4().hex`` by default).
        browser_access: Switch and token policy of ``/ws/browser`` (open when omitted).

    Returns:
        The Starlette app. ``app.state.admission`` is the :class:`CallAdmission`.
    """
    limits = limits or ServerLimits()
    admission = admission or CallAdmission(limits.max_concurrent_calls)
    probes = probes if probes is not None else {}
    make_id = new_call_id or (lambda: uuid.uuid4().hex)
    # Live browser calls and their writer tasks, for the drain-timeout hook below.
    live_browser: dict[BrowserMediaStream, asyncio.Task[Any]] = {}

    async def end_browser_calls() -> None:
        # Drain timed out: each client gets `call_ended` before its socket closes.
        for stream in list(live_browser):
            stream.end("server_draining")
        writers = list(live_browser.values())
        if writers:
            await asyncio.wait(writers, timeout=2.0)

    admission.on_drain_timeout(end_browser_calls)
    access = browser_access or BrowserAccess()

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        if admission.draining:
            return JSONResponse({"status": "draining", "failed": []}, status_code=503)
        names = list(probes)
        results = await asyncio.gather(
            *(_probe(n, probes[n], limits.ready_timeout_s) for n in names)
        )
        failed = [r for r in results if r is not None]
        body = {
            "status": "ready" if not failed else "not_ready",
            "checked": names,
            "failed": failed,
        }
        return JSONResponse(body, status_code=200 if not failed else 503)

    async def metrics_endpoint(request: Request) -> Response:
        return PlainTextResponse(
            generate_latest(metrics_registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    def refused(reason: str) -> None:
        if isinstance(metrics, PrometheusCallMetrics):
            metrics.call_refused(reason)

    async def browser(websocket: WebSocket) -> None:
        if not access.enabled:
            await websocket.close(CLOSE_BAD_START)  # before accept: uvicorn answers HTTP 403
            return
        await websocket.accept()
        # The slot is taken before the start message: sockets that never send one count
        # against the limit, so a client cannot hold any number of them open.
        try:
            admission.acquire()
        except CallRefused as refusal:
            refused(refusal.reason)
            with contextlib.suppress(RuntimeError):
                await websocket.send_json(
                    {"type": "error", "code": refusal.reason, "message": refusal.detail}
                )
                await websocket.close(CLOSE_TRY_AGAIN_LATER, refusal.detail[:120])
            return
        try:
            try:
                start = await read_start(
                    websocket, timeout_s=limits.idle_timeout_s, max_bytes=limits.max_message_bytes
                )
                access.check(start.token, start.agent)
            except BrowserAuthError as exc:
                with contextlib.suppress(RuntimeError):
                    await websocket.send_json(
                        {"type": "error", "code": exc.code, "message": str(exc)}
                    )
                    await websocket.close(CLOSE_UNAUTHORIZED, str(exc))
                return
            except ValueError as exc:
                with contextlib.suppress(RuntimeError):
                    await websocket.send_json(
                        {"type": "error", "code": "bad_start", "message": str(exc)}
                    )
                    await websocket.close(CLOSE_BAD_START, str(exc)[:120])
                return
            await _run_browser_call(websocket, start.sample_rate_hz, start.caller, start.agent)
        finally:
            admission.release()

    async def _run_browser_call(
        websocket: WebSocket, rate: int, caller: str, agent: str = ""
    ) -> None:
        call_id = make_id()
        stream = BrowserMediaStream(
            websocket,
            AudioFormat(rate),
            call_id,
            metrics=metrics,
            idle_timeout_s=limits.idle_timeout_s,
            max_message_bytes=limits.max_message_bytes,
        )
        stream.send_json(
            {"type": "started", "call_id": call_id, "sample_rate_hz": rate, "encoding": "pcm16"}
        )
        writer = stream.start_writer()
        live_browser[stream] = writer
        reason = "error"
        try:
            summary = await handler.handle_call(
                InboundCall(
                    CallInfo(call_id, channel="browser", caller=caller, start_agent=agent),
                    media=stream,
                    observer=stream,
                )
            )
            reason = summary.end_reason
        except Exception:
            # The handler promises not to raise; if it does, the client still gets an end.
            logger.exception("browser call %s failed", call_id)
        finally:
            live_browser.pop(stream, None)
            stream.end(reason)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, timeout=5.0)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started: list[Hook] = []
        try:
            for hook in on_startup:
                await hook()
                started.append(hook)
            yield
        finally:
            # Normally DrainingServer drained already; this covers other servers.
            admission.begin_drain()
            if admission.active:
                await admission.wait_idle(limits.drain_timeout_s)
            for hook in reversed(on_shutdown):
                try:
                    await hook()
                except Exception:
                    logger.exception("shutdown hook failed")

    routes: list[BaseRoute] = [
        *extra_routes,
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        WebSocketRoute("/ws/browser", browser),
        *_placeholder_routes(extra_routes),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(BodySizeLimit, max_bytes=limits.max_request_bytes)],
        lifespan=lifespan,
    )
    app.state.admission = admission
    app.state.limits = limits
    return app


def describe_routes(app: Starlette) -> list[dict[str, Any]]:
    """Path and kind of every route, for ``parley check`` and docs."""
    out = []
    for route in app.routes:
        kind = "websocket" if isinstance(route, WebSocketRoute) else "http"
        out.append({"path": getattr(route, "path", "?"), "kind": kind})
    return out
