"""The port error tree: every error that may cross a port.

Adapters translate their SDK's exceptions into these at the boundary (most specific first,
``raise ... from exc``), so the core never sees a vendor type. Each class has a stable ``code``
that is safe to log, count in metrics and put in a transcript.

The tree::

    ParleyError                      code "parley_error"
    ├── InvalidAudioError            code "invalid_audio"      (also a ValueError)
    ├── ProviderError                code "provider_error"     (carries the port name)
    │   ├── ProviderTimeoutError     code "timeout"
    │   ├── RateLimitedError         code "rate_limited"       (carries retry_after_s)
    │   ├── ContentFilteredError     code "content_filtered"
    │   ├── AuthenticationError      code "authentication"
    │   ├── ProviderUnavailableError code "unavailable"
    │   ├── CallNotFoundError        code "call_not_found"
    │   └── InvalidTargetError       code "invalid_target"
    ├── StoreError                   code "store_error"
    │   ├── VersionConflictError     code "version_conflict"
    │   └── StoreUnavailableError    code "store_unavailable"
    └── StreamClosedError            code "stream_closed"
"""

from __future__ import annotations


class ParleyError(Exception):
    """Base of every port error.

    Attributes:
        code: Stable machine-readable code, safe to log and to use as a metric label.
    """

    code: str = "parley_error"


class InvalidAudioError(ParleyError, ValueError):
    """Audio that does not fit its declared format (odd byte count, wrong rate or size)."""

    code = "invalid_audio"


class ProviderError(ParleyError):
    """An external provider (speech, model, telephony, tools) failed.

    Args:
        message: Human-readable cause. Never includes a secret or caller audio.
        port: Name of the port that failed, e.g. ``"speech_to_text"``; used as a metric label.
    """

    code = "provider_error"

    def __init__(self, message: str = "", *, port: str = "unknown") -> None:
        super().__init__(message)
        self.port = port


class ProviderTimeoutError(ProviderError):
    """The provider did not answer within the deadline the caller set."""

    code = "timeout"


class RateLimitedError(ProviderError):
    """The provider refused for load (HTTP 429 or equivalent).

    Args:
        message: Human-readable cause.
        port: Name of the failing port.
        retry_after_s: Seconds the provider asked us to wait, when it said.
    """

    code = "rate_limited"

    def __init__(
        self, message: str = "", *, port: str = "unknown", retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, port=port)
        self.retry_after_s = retry_after_s


class ContentFilteredError(ProviderError):
    """The provider's content filter blocked the prompt or the completion."""

    code = "content_filtered"


class AuthenticationError(ProviderError):
    """Credentials were refused. Retrying does not help; configuration must change."""

    code = "authentication"


class ProviderUnavailableError(ProviderError):
    """The provider cannot be reached or answered with a server error."""

    code = "unavailable"


class CallNotFoundError(ProviderError):
    """The telephony provider does not know the call connection id (it has ended)."""

    code = "call_not_found"


class InvalidTargetError(ProviderError):
    """The telephony provider refused the number or participant to call.

    It does not exist, is malformed or cannot be reached from this account; retrying does not
    help.
    """

    code = "invalid_target"


class StoreError(ParleyError):
    """A session, transcript or registry store failed."""

    code = "store_error"


class VersionConflictError(StoreError):
    """A compare-and-set write named a version that is no longer current.

    Args:
        message: Human-readable cause.
        expected: The version the writer believed current.
        actual: The version found in the store (``None`` when the record is gone).
    """

    code = "version_conflict"

    def __init__(self, message: str = "", *, expected: int | None, actual: int | None) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class StoreUnavailableError(StoreError):
    """The store cannot be reached or timed out."""

    code = "store_unavailable"


class StreamClosedError(ParleyError):
    """An operation was attempted on a media stream or session that is already closed."""

    code = "stream_closed"
