"""SDK and socket failures at connect time, as port errors (most specific first)."""

from __future__ import annotations

from ports import (
    AuthenticationError,
    ParleyError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

PORT = "realtime"


def _status(exc: BaseException) -> int | None:
    """The HTTP status of a refused WebSocket upgrade, found along the exception chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for attr in ("status", "status_code"):
            value = getattr(current, attr, None)
            if isinstance(value, int):
                return value
        response = getattr(current, "response", None)
        value = getattr(response, "status_code", None)
        if isinstance(value, int):
            return value
        current = current.__cause__ or current.__context__
    return None


def connect_error(exc: BaseException) -> ParleyError:
    """The port error for a failed connect, to raise from the SDK exception.

    401/403 -> :class:`AuthenticationError`; 429 -> :class:`RateLimitedError`; a timeout ->
    :class:`ProviderTimeoutError`; anything else (refused, 5xx, DNS) ->
    :class:`ProviderUnavailableError`.
    """
    if isinstance(exc, ParleyError):
        return exc
    status = _status(exc)
    message = f"realtime connect failed: {type(exc).__name__}"
    if status is not None:
        message += f" (HTTP {status})"
    if status in (401, 403):
        return AuthenticationError(message, port=PORT)
    if status == 429:
        return RateLimitedError(message, port=PORT)
    if isinstance(exc, TimeoutError):
        return ProviderTimeoutError(message, port=PORT)
    if status is not None or isinstance(exc, OSError | ConnectionError):
        return ProviderUnavailableError(message, port=PORT)
    return ProviderUnavailableError(message, port=PORT)


__all__ = ["PORT", "ProviderError", "connect_error"]
