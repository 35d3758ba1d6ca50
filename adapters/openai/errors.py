"""Translation of ``openai`` SDK exceptions into the port error tree.

Every exception class the SDK exports has an explicit row in :data:`ERROR_MAP` (a unit test
iterates the SDK's classes and fails on a missing row, the way httpx's
``tests/test_exceptions.py`` guards ``map_httpcore_exceptions``). A subclass the SDK adds later
falls back to its nearest mapped base until a row is added.

Status-code facts: OpenAI API reference "Error codes" and Azure OpenAI REST reference
(``429`` with ``retry-after`` / ``retry-after-ms``; Azure's prompt filter answers ``400`` with
``error.code == "content_filter"`` and ``innererror.code == "ResponsibleAIPolicyViolation"``,
see "Azure OpenAI content filtering").
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Any

import openai

from ports.errors import (
    AuthenticationError,
    ContentFilteredError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

PORT = "language_model"
"""Port name carried by every error this adapter raises (a metric label)."""

_CONTENT_FILTER_CODES = frozenset({"content_filter", "ResponsibleAIPolicyViolation"})


def retry_after_s(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the service asked us to wait, from ``retry-after-ms`` or ``retry-after``.

    Args:
        headers: Response headers (case-insensitive mapping, e.g. ``httpx2.Headers``).

    Returns:
        Seconds (>= 0), or ``None`` when absent or unparsable. ``retry-after`` may be
        delta-seconds or an HTTP date (RFC 9110 section 10.2.3); ``retry-after-ms`` is Azure's
        and OpenAI's millisecond form and wins when both are present.
    """
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_content_filter(exc: openai.APIError) -> bool:
    if exc.code in _CONTENT_FILTER_CODES:
        return True
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("innererror")
        if isinstance(inner, Mapping) and inner.get("code") in _CONTENT_FILTER_CODES:
            return True
    return False


def _status(exc: Any) -> int:
    return int(getattr(exc, "status_code", 0) or 0)


def _message(exc: BaseException) -> str:
    # The SDK's messages carry the status and the service's message, never the api key.
    return f"{type(exc).__name__}: {exc}"


def _timeout(exc: BaseException) -> ProviderError:
    return ProviderTimeoutError(_message(exc), port=PORT)


def _unavailable(exc: BaseException) -> ProviderError:
    return ProviderUnavailableError(_message(exc), port=PORT)


def _auth(exc: BaseException) -> ProviderError:
    return AuthenticationError(_message(exc), port=PORT)


def _filtered(exc: BaseException) -> ProviderError:
    return ContentFilteredError(_message(exc), port=PORT)


def _generic(exc: BaseException) -> ProviderError:
    return ProviderError(_message(exc), port=PORT)


def _rate_limited(exc: BaseException) -> ProviderError:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return RateLimitedError(_message(exc), port=PORT, retry_after_s=retry_after_s(headers))


def _bad_request(exc: BaseException) -> ProviderError:
    if isinstance(exc, openai.APIError) and _is_content_filter(exc):
        return _filtered(exc)
    # A 400 is our request's fault (unknown parameter for this model, bad tool schema):
    # configuration must change, so it is a plain ProviderError, not "unavailable".
    return _generic(exc)


def _api_status(exc: BaseException) -> ProviderError:
    status = _status(exc)
    if isinstance(exc, openai.APIError) and _is_content_filter(exc):
        return _filtered(exc)
    if status == 408:
        return _timeout(exc)
    if status == 429:
        return _rate_limited(exc)
    if status in (401, 403):
        return _auth(exc)
    if status >= 500:
        return _unavailable(exc)
    return _generic(exc)


def _api_error(exc: BaseException) -> ProviderError:
    # A bare APIError is an ``{"error": ...}`` event inside an SSE stream that had begun.
    if isinstance(exc, openai.APIError) and _is_content_filter(exc):
        return _filtered(exc)
    return _unavailable(exc)


Mapper = Callable[[BaseException], ProviderError]

ERROR_MAP: dict[type[BaseException], Mapper] = {
    openai.ContentFilterFinishReasonError: _filtered,
    openai.LengthFinishReasonError: _generic,
    openai.APITimeoutError: _timeout,
    openai.APIConnectionError: _unavailable,
    openai.APIResponseValidationError: _unavailable,
    openai.BadRequestError: _bad_request,
    openai.OAuthError: _auth,
    openai.AuthenticationError: _auth,
    openai.PermissionDeniedError: _auth,
    # A missing deployment or model: the endpoint cannot serve us until configuration changes.
    openai.NotFoundError: _unavailable,
    openai.ConflictError: _generic,
    openai.UnprocessableEntityError: _generic,
    openai.RateLimitError: _rate_limited,
    openai.InternalServerError: _unavailable,
    openai.APIStatusError: _api_status,
    openai.APIError: _api_error,
    openai.WebSocketConnectionClosedError: _unavailable,
    openai.WebSocketQueueFullError: _unavailable,
    openai._exceptions.SubjectTokenProviderError: _auth,
    openai.OpenAIError: _generic,
    # Not an OpenAIError: raised by webhook verification, which this adapter never calls;
    # mapped so every class the SDK exports has a row.
    openai.InvalidWebhookSignatureError: _generic,
}
"""Exact SDK exception class -> port error factory."""


def map_openai_error(exc: BaseException) -> ProviderError:
    """The port error for an SDK exception (nearest mapped class in its MRO).

    Args:
        exc: Any exception raised by the ``openai`` SDK.

    Returns:
        A :class:`~ports.errors.ProviderError` subclass with ``port="language_model"``;
        raise it ``from exc``.
    """
    for cls in type(exc).__mro__:
        mapper = ERROR_MAP.get(cls)
        if mapper is not None:
            return mapper(exc)
    return _generic(exc)


def is_retryable(exc: BaseException) -> bool:
    """Whether an SDK error before the first token is worth another attempt.

    429 and 5xx (``InternalServerError``, any ``APIStatusError`` >= 500) and connection
    failures (``APIConnectionError``, which includes ``APITimeoutError``: the connect timeout)
    are. Everything else (auth, bad request, content filter) would fail the same way again.
    """
    if isinstance(exc, openai.RateLimitError | openai.InternalServerError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return _status(exc) >= 500 or _status(exc) == 429
    return isinstance(exc, openai.APIConnectionError)
