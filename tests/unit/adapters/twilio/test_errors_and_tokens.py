"""Twilio error translation and stream tokens (marks: ``test_playback_marks.py``)."""

from __future__ import annotations

import aiohttp
import pytest
import twilio.base.exceptions as twilio_errors

from adapters.twilio.call_control import MAPPED_ERRORS, map_twilio_error
from adapters.twilio.stream_tokens import StreamTokens
from ports import (
    AuthenticationError,
    CallNotFoundError,
    InvalidTargetError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)


def rest(status: int, code: int | None = None) -> twilio_errors.TwilioRestException:
    return twilio_errors.TwilioRestException(status, "https://api.twilio.com/x", "m", code)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (rest(401, 20003), AuthenticationError),
        (rest(404, 20404), CallNotFoundError),
        (rest(400, 21220), CallNotFoundError),
        (rest(400, 21211), InvalidTargetError),
        (rest(429, 20429), RateLimitedError),
        (rest(503), ProviderUnavailableError),
        (rest(504), ProviderTimeoutError),
        (aiohttp.ClientConnectionError(), ProviderUnavailableError),
        (TimeoutError(), ProviderTimeoutError),
    ],
)
def test_twilio_errors_become_port_errors(error: Exception, expected: type) -> None:
    mapped = map_twilio_error(error)
    assert type(mapped) is expected and mapped.port == "call_control"


def test_every_error_class_of_the_twilio_package_has_a_mapping() -> None:
    classes = [
        c for c in vars(twilio_errors).values()
        if isinstance(c, type) and issubclass(c, Exception)
    ]  # fmt: skip
    for error_class in classes:
        assert any(issubclass(error_class, mapped) for mapped in MAPPED_ERRORS), error_class


def test_stream_tokens_are_checked_against_the_deployment_key() -> None:
    ours, theirs = StreamTokens(b"k" * 32), StreamTokens(b"x" * 32)
    token = ours.issue()
    assert ours.verify(token) and StreamTokens(b"k" * 32).verify(token)
    assert not theirs.verify(token) and not ours.verify("") and not ours.verify("a.b")
