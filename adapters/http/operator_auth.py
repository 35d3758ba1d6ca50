"""Operator authentication for the HTTP API and the console: ``Authorization: Bearer <key>``.

The key is the setting ``PARLEY_OPERATOR_KEY``; an empty key disables the operator API (503),
so an instance is never left open by forgetting to set one. Keys are compared in constant
time. The bearer scheme is RFC 6750, "The OAuth 2.0 Authorization Framework: Bearer Token
Usage", https://www.rfc-editor.org/rfc/rfc6750 (section 3 for ``WWW-Authenticate``).
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

__all__ = ["bearer_token", "operator_denied"]


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def operator_denied(conn: HTTPConnection, key: str | None) -> Response | None:
    """Check the operator key on a request or WebSocket upgrade.

    Args:
        conn: The request (or WebSocket) being served.
        key: The configured operator key; ``None`` or empty means the operator API is off.

    Returns:
        None when allowed; otherwise the response to send: 503 JSON
        ``{"error": "operator_api_disabled"}`` when no key is configured, 401 JSON
        ``{"error": "unauthorized"}`` with ``WWW-Authenticate: Bearer`` when the token is
        missing or wrong.
    """
    if not key:
        return JSONResponse(
            {
                "error": "operator_api_disabled",
                "detail": "set PARLEY_OPERATOR_KEY to enable the operator API",
            },
            status_code=503,
        )
    token = bearer_token(conn)
    if token is None or not hmac.compare_digest(token.encode(), key.encode()):
        return JSONResponse(
            {"error": "unauthorized", "detail": "a valid operator bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return None
