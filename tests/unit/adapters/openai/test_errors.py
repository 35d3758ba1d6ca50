"""Every openai SDK exception maps to a port error, most specific first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx2
import openai
import pytest

from adapters.openai import ERROR_MAP, map_openai_error, retry_after_s
from adapters.openai.errors import is_retryable
from ports import (
    AuthenticationError,
    ContentFilteredError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

REQUEST = httpx2.Request("POST", "http://127.0.0.1/openai/deployments/d/chat/completions")


def _sdk_exception_classes() -> set[type[BaseException]]:
    """Public exception classes of ``openai`` and ``openai._exceptions``."""
    found: set[type[BaseException]] = set()
    for module in (openai, openai._exceptions):
        for name, value in list(vars(module).items()):
            # type(value), not isinstance: the SDK's lazy resource proxies load on inspection.
            if name.startswith("_") or not issubclass(type(value), type):
                continue
            if issubclass(value, BaseException) and value.__module__.startswith("openai"):
                found.add(value)
    return found


def test_every_openai_exception_class_has_a_mapping() -> None:
    classes = _sdk_exception_classes()

    missing = sorted(c.__qualname__ for c in classes if c not in ERROR_MAP)

    assert len(classes) >= 15  # the scan itself works
    assert missing == []


def _status_error(
    cls: type[openai.APIStatusError],
    status: int,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> openai.APIStatusError:
    response = httpx2.Response(status, headers=headers or {}, request=REQUEST)
    return cls(f"Error code: {status}", response=response, body=body)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (openai.APITimeoutError(REQUEST), ProviderTimeoutError),
        (openai.APIConnectionError(request=REQUEST), ProviderUnavailableError),
        (_status_error(openai.AuthenticationError, 401), AuthenticationError),
        (_status_error(openai.PermissionDeniedError, 403), AuthenticationError),
        (_status_error(openai.NotFoundError, 404), ProviderUnavailableError),
        (_status_error(openai.InternalServerError, 500), ProviderUnavailableError),
        (_status_error(openai.InternalServerError, 503), ProviderUnavailableError),
        (_status_error(openai.RateLimitError, 429), RateLimitedError),
        (_status_error(openai.BadRequestError, 400, {"code": "invalid_value"}), ProviderError),
        (
            _status_error(openai.BadRequestError, 400, {"code": "content_filter"}),
            ContentFilteredError,
        ),
        (
            _status_error(
                openai.BadRequestError,
                400,
                {"code": "x", "innererror": {"code": "ResponsibleAIPolicyViolation"}},
            ),
            ContentFilteredError,
        ),
        (_status_error(openai.APIStatusError, 408), ProviderTimeoutError),
        (_status_error(openai.APIStatusError, 502), ProviderUnavailableError),
        (openai.APIError("boom", REQUEST, body={"code": "server_error"}), ProviderUnavailableError),
        (openai.ContentFilterFinishReasonError(), ContentFilteredError),
        (openai.OpenAIError("x"), ProviderError),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "",
)
def test_sdk_error_maps_to_the_port_error(exc: BaseException, expected: type) -> None:
    mapped = map_openai_error(exc)

    assert type(mapped) is expected
    assert mapped.port == "language_model"


def test_a_bare_status_error_is_never_mapped_to_a_subclass_it_is_not() -> None:
    mapped = map_openai_error(_status_error(openai.APIStatusError, 418))

    assert type(mapped) is ProviderError


def test_rate_limited_error_carries_retry_after_ms() -> None:
    exc = _status_error(openai.RateLimitError, 429, headers={"retry-after-ms": "1500"})

    mapped = map_openai_error(exc)

    assert isinstance(mapped, RateLimitedError)
    assert mapped.retry_after_s == 1.5


def test_retry_after_reads_seconds_ms_and_http_dates() -> None:
    future = datetime.now(UTC) + timedelta(seconds=30)

    assert retry_after_s(httpx2.Headers({"retry-after": "2"})) == 2.0
    assert retry_after_s(httpx2.Headers({"retry-after": "1", "retry-after-ms": "250"})) == 0.25
    assert (retry_after_s(httpx2.Headers({"retry-after": format_datetime(future)})) or 0) > 25
    assert retry_after_s(httpx2.Headers({"retry-after": "soon"})) is None
    assert retry_after_s(httpx2.Headers({})) is None


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (_status_error(openai.RateLimitError, 429), True),
        (_status_error(openai.InternalServerError, 500), True),
        (openai.APIConnectionError(request=REQUEST), True),
        (openai.APITimeoutError(REQUEST), True),
        (_status_error(openai.AuthenticationError, 401), False),
        (_status_error(openai.BadRequestError, 400), False),
        (openai.ContentFilterFinishReasonError(), False),
    ],
)
def test_only_transient_errors_are_retryable(exc: BaseException, retry: bool) -> None:
    assert is_retryable(exc) is retry
