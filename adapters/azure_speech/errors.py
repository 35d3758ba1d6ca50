"""Translation of Speech SDK cancellations into port errors.

The SDK never raises on the call path: a failed recognition or synthesis arrives as a
``canceled`` event carrying a :class:`CancellationReason` and, for ``Error``, a
:class:`CancellationErrorCode` plus free-text details (Speech SDK reference,
``azure.cognitiveservices.speech.CancellationErrorCode``). Each code maps to one port error
class here, most specific first; :func:`translate_cancellation` builds the error, and
:data:`RETRYABLE_CODES` says which ones a recognition session may recover from by
reconnecting. ``tests/unit/adapters/azure_speech/test_errors.py`` iterates the SDK enums and
fails when a member has no mapping (a newer SDK adding a code must be mapped here).

Observed with SDK 1.53.0 against the local stand-in (tests/emulators/speech_standin.py):
HTTP 401/403 at the WebSocket upgrade -> ``AuthenticationFailure``; 429 -> ``TooManyRequests``;
500 -> ``ServiceError``; 503 -> ``ServiceUnavailable``; refused or dropped connection ->
``ConnectionFailure``; close code 1011/1013 -> ``ServiceError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from adapters.azure_speech._sdk import CancellationErrorCode, CancellationReason
from ports import (
    AuthenticationError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

ERROR_CODE_MAP: Mapping[CancellationErrorCode, type[ProviderError]] = MappingProxyType(
    {
        CancellationErrorCode.NoError: ProviderError,
        CancellationErrorCode.AuthenticationFailure: AuthenticationError,
        CancellationErrorCode.Forbidden: AuthenticationError,
        CancellationErrorCode.BadRequest: ProviderError,
        CancellationErrorCode.TooManyRequests: RateLimitedError,
        CancellationErrorCode.ConnectionFailure: ProviderUnavailableError,
        CancellationErrorCode.ServiceTimeout: ProviderTimeoutError,
        CancellationErrorCode.ServiceError: ProviderUnavailableError,
        CancellationErrorCode.ServiceUnavailable: ProviderUnavailableError,
        CancellationErrorCode.RuntimeError: ProviderError,
        CancellationErrorCode.ServiceRedirectTemporary: ProviderUnavailableError,
        CancellationErrorCode.ServiceRedirectPermanent: ProviderError,
        CancellationErrorCode.EmbeddedModelError: ProviderError,
    }
)
"""Every ``CancellationErrorCode`` -> the port error it becomes.

``BadRequest``, ``RuntimeError``, ``ServiceRedirectPermanent`` and ``EmbeddedModelError`` are
configuration or local faults: a plain :class:`~ports.ProviderError`, never retried.
``NoError`` only appears with a non-error reason; if it ever comes with ``Error`` it is a plain
provider error.
"""

REASON_IS_ERROR: Mapping[CancellationReason, bool] = MappingProxyType(
    {
        CancellationReason.Error: True,
        CancellationReason.EndOfStream: False,
        CancellationReason.CancelledByUser: False,
    }
)
"""Every ``CancellationReason`` -> whether it is a failure (``EndOfStream`` is the normal end
after the audio stream closed; ``CancelledByUser`` follows our own stop)."""

RETRYABLE_CODES: frozenset[CancellationErrorCode] = frozenset(
    {
        CancellationErrorCode.ConnectionFailure,
        CancellationErrorCode.ServiceTimeout,
        CancellationErrorCode.ServiceError,
        CancellationErrorCode.ServiceUnavailable,
        CancellationErrorCode.TooManyRequests,
        CancellationErrorCode.ServiceRedirectTemporary,
    }
)
"""Codes after which reconnecting may succeed (network, service, load)."""


def translate_cancellation(
    reason: CancellationReason, code: CancellationErrorCode, details: str, *, port: str
) -> ProviderError | None:
    """The port error for a ``canceled`` event, or ``None`` when it is not a failure.

    Args:
        reason: ``CancellationDetails.reason``.
        code: ``CancellationDetails.code`` (recognition) or ``error_code`` (synthesis).
        details: ``error_details`` text; kept in the message (it never holds the key).
        port: ``"speech_to_text"`` or ``"text_to_speech"``.

    Returns:
        A :class:`~ports.ProviderError` subclass instance (not raised), or ``None`` for
        ``EndOfStream`` and ``CancelledByUser``.
    """
    if not REASON_IS_ERROR.get(reason, True):
        return None
    error_class = ERROR_CODE_MAP.get(code, ProviderError)
    message = f"Azure Speech {getattr(code, 'name', code)}: {details.strip() or 'no details'}"
    return error_class(message, port=port)


def is_retryable(code: CancellationErrorCode) -> bool:
    """True when a recognition session should reconnect after this error code."""
    return code in RETRYABLE_CODES


__all__ = [
    "ERROR_CODE_MAP",
    "REASON_IS_ERROR",
    "RETRYABLE_CODES",
    "CancellationErrorCode",
    "CancellationReason",
    "is_retryable",
    "translate_cancellation",
]
