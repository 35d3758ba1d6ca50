"""Operator authentication for the HTTP API and console: ``Authorization: Bearer <key>``.

The key is the ``PARLEY_OPERATOR_KEY`` setting; empty means the operator API is disabled.
Bearer syntax: RFC 6750 section 2.1, https://www.rfc-editor.org/rfc/rfc6750#section-2.1 .
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response


def operator_denied(conn: HTTPConnection, key: str | None) -> Response | None:
    """Why ``conn`` may not use the operator API, as a response; None when it may.

    Args:
        conn: The request or WebSocket handshake.
        key: The configured operator key (None or empty: the operator API is disabled).

    Returns:
        None (allowed), a 503 JSON response when no key is configured, or a 401 JSON
        response with ``WWW-Authenticate: Bearer`` when the token is missing or wrong.
    """
    if not key:
        return JSONResponse({"error": "operator API disabled: set PARLEY_OPERATOR_KEY"}, 503)
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key.encode()):
        return JSONResponse({"error": "unauthorized"}, 401, headers={"WWW-Authenticate": "Bearer"})
    return None
