"""``GET /api/calls/{call_id}/call.html``: the picture of a recorded call, for operators."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from adapters.http.operator_auth import operator_denied

logger = logging.getLogger(__name__)

CALL_PICTURE_PATH = "/api/calls/{call_id}/call.html"


def call_picture_route(
    render: Callable[[str], Awaitable[str]], key: str | None, *, timeout_s: float = 10.0
) -> Route:
    """The route that renders a recorded call's ``call.html``.

    Args:
        render: Call id -> the page; raises ``KeyError`` for an unknown call.
        key: The operator key (see :func:`operator_denied`).
        timeout_s: Longest a render may take.
    """

    async def call_picture(request: Request) -> Response:
        denied = operator_denied(request, key)
        if denied is not None:
            return denied
        call_id = request.path_params["call_id"]
        try:
            async with asyncio.timeout(timeout_s):
                page = await render(call_id)
        except KeyError:
            return JSONResponse({"error": "unknown call"}, 404)
        except TimeoutError:
            return JSONResponse({"error": "rendering timed out"}, 504)
        # The page inlines plotly.js and never loads anything: forbid it to.
        csp = (
            "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
            "style-src 'unsafe-inline'; img-src data: blob:"
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": csp})

    return Route(CALL_PICTURE_PATH, call_picture, methods=["GET"])
