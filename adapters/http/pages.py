"""The web pages: the talk page, the operator console, their static files and JSON API.

=================================  ===========================================================
``GET /``, ``GET /talk``            the browser voice client (404 when the browser is disabled)
``GET /console``                    the operator console page (its data needs the operator key)
``GET /static/<file>``              ES modules, CSS and the audio worklet (package data)
``GET /api/browser/config``         what the talk page needs: token policy, agents, rates
``POST /api/browser/token``         a browser token (see :mod:`adapters.http.browser_auth`)
``GET /api/live-calls``             operator: live and recently ended calls of this instance
``GET /api/live-calls/{id}/events`` operator: a call's events after ``?after=<seq>``
=================================  ===========================================================

The front end has no build step: plain ES modules served from ``adapters/http/static``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.http.browser_auth import BrowserAccess, browser_token_route
from adapters.http.live_calls import LiveCallRegistry
from adapters.http.operator_auth import operator_denied

__all__ = ["STATIC_DIR", "page_routes"]

STATIC_DIR = Path(__file__).with_name("static")

_NO_CACHE = {"Cache-Control": "no-store"}


def page_routes(
    *,
    access: BrowserAccess,
    registry: LiveCallRegistry,
    operator_key: str | None,
    agents: Callable[[], Sequence[str]] = tuple,
    recorded_view: str | None = None,
) -> list[BaseRoute]:
    """Routes of the pages and their API.

    Args:
        access: The browser switch and token policy (``/`` is 404 when disabled).
        registry: Live calls, for the console.
        operator_key: ``PARLEY_OPERATOR_KEY``; None/empty disables the console's data (503).
        agents: Names of the configured agents, start agent first (read per request).
        recorded_view: Path template of the recorded-call page (``{call_id}`` in it), linked
            from ended calls; None when the app does not serve one.

    Returns:
        Routes to add to the app (``extra_routes`` of :func:`adapters.http.build_app`).
    """

    async def talk(request: Request) -> Response:
        if not access.enabled:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return FileResponse(STATIC_DIR / "talk.html", headers=_NO_CACHE)

    async def console(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "console.html", headers=_NO_CACHE)

    async def config(request: Request) -> Response:
        if not access.enabled:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(
            {
                "ws_path": "/ws/browser",
                "token_required": access.tokens is not None,
                "token_path": "/api/browser/token",
                "key_required": bool(access.key),
                "sample_rates_hz": [8000, 16000, 24000, 48000],
                "agents": list(agents()),
            },
            headers=_NO_CACHE,
        )

    async def live_calls(request: Request) -> Response:
        denied = operator_denied(request, operator_key)
        if denied is not None:
            return denied
        return JSONResponse(
            {"calls": registry.calls(), "recorded_view": recorded_view}, headers=_NO_CACHE
        )

    async def call_events(request: Request) -> Response:
        denied = operator_denied(request, operator_key)
        if denied is not None:
            return denied
        call = registry.get(request.path_params["call_id"])
        if call is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        try:
            after = int(request.query_params.get("after", "-1"))
        except ValueError:
            return JSONResponse({"error": "bad_request", "detail": "after: integer"}, 400)
        events = [e for e in call.events if e["seq"] > after]
        return JSONResponse(
            {"call": call.summary(registry.now()), "events": events}, headers=_NO_CACHE
        )

    return [
        Route("/", talk, methods=["GET"]),
        Route("/talk", talk, methods=["GET"]),
        Route("/console", console, methods=["GET"]),
        Route("/api/browser/config", config, methods=["GET"]),
        browser_token_route(access),
        Route("/api/live-calls", live_calls, methods=["GET"]),
        Route("/api/live-calls/{call_id}/events", call_events, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
