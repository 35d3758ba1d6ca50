"""Error translation: every SDK cancellation reason and error code has a port error."""

from __future__ import annotations

import azure.cognitiveservices.speech as speechsdk
import pytest

from adapters.azure_speech.errors import (
    ERROR_CODE_MAP,
    REASON_IS_ERROR,
    RETRYABLE_CODES,
    translate_cancellation,
)
from ports import (
    AuthenticationError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)


@pytest.mark.parametrize("code", list(speechsdk.CancellationErrorCode))
def test_every_cancellation_error_code_has_a_mapping(code: speechsdk.CancellationErrorCode):
    assert code in ERROR_CODE_MAP, f"map {code!r} in adapters/azure_speech/errors.py"
    error = translate_cancellation(
        speechsdk.CancellationReason.Error, code, "details", port="speech_to_text"
    )
    assert isinstance(error, ProviderError)
    assert isinstance(error, ERROR_CODE_MAP[code])
    assert error.port == "speech_to_text"
    assert code.name in str(error)


@pytest.mark.parametrize("reason", list(speechsdk.CancellationReason))
def test_every_cancellation_reason_has_a_mapping(reason: speechsdk.CancellationReason):
    assert reason in REASON_IS_ERROR, f"map {reason!r} in adapters/azure_speech/errors.py"


@pytest.mark.parametrize(
    "reason",
    [speechsdk.CancellationReason.EndOfStream, speechsdk.CancellationReason.CancelledByUser],
)
def test_normal_ends_are_not_errors(reason: speechsdk.CancellationReason):
    code = speechsdk.CancellationErrorCode.NoError
    assert translate_cancellation(reason, code, "", port="text_to_speech") is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (speechsdk.CancellationErrorCode.AuthenticationFailure, AuthenticationError),
        (speechsdk.CancellationErrorCode.Forbidden, AuthenticationError),
        (speechsdk.CancellationErrorCode.TooManyRequests, RateLimitedError),
        (speechsdk.CancellationErrorCode.ConnectionFailure, ProviderUnavailableError),
        (speechsdk.CancellationErrorCode.ServiceUnavailable, ProviderUnavailableError),
        (speechsdk.CancellationErrorCode.ServiceTimeout, ProviderTimeoutError),
    ],
)
def test_specific_codes_become_specific_port_errors(code, expected):
    error = translate_cancellation(speechsdk.CancellationReason.Error, code, "x", port="p")
    assert type(error) is expected


def test_authentication_failures_are_never_retried():
    assert speechsdk.CancellationErrorCode.AuthenticationFailure not in RETRYABLE_CODES
    assert speechsdk.CancellationErrorCode.Forbidden not in RETRYABLE_CODES
    assert speechsdk.CancellationErrorCode.ConnectionFailure in RETRYABLE_CODES
