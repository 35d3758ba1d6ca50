"""The TwiML documents Parley answers Twilio with, built by the ``twilio`` package.

* ``<Connect><Stream>``: a bidirectional Media Stream to our WebSocket ("TwiML Voice:
  <Stream>", https://www.twilio.com/docs/voice/twiml/stream). The ``url`` takes no query
  string, so per-call values travel as ``<Parameter>`` and arrive in ``start.customParameters``.
* ``<Dial><Number>``: a transfer ("TwiML Voice: <Dial>", https://www.twilio.com/docs/voice/twiml/dial,
  and "<Number>", https://www.twilio.com/docs/voice/twiml/number): the ``<Number>``'s
  ``statusCallback`` with ``statusCallbackEvent="answered"`` tells us the target answered; the
  ``<Dial action>`` URL is requested when the dialled call ends, with ``DialCallStatus``.
* ``<Hangup/>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.twiml.voice_response import VoiceResponse


def connect_stream(url: str, parameters: Mapping[str, str] | None = None) -> str:
    """``<Response><Connect><Stream url=...><Parameter .../></Stream></Connect></Response>``.

    Args:
        url: The ``wss://`` WebSocket URL (no query string: Twilio drops it).
        parameters: Custom parameters, delivered in the ``start`` message.
    """
    response = VoiceResponse()
    stream = response.connect().stream(url=url)
    for name, value in (parameters or {}).items():
        stream.parameter(name=name, value=value)
    return str(response)


def dial(target: str, *, action: str, answered_callback: str, timeout_s: int = 20) -> str:
    """``<Response><Dial action=...><Number statusCallback=...>target</Number></Dial></Response>``.

    Args:
        target: E.164 number to connect the caller to.
        action: Requested (POST) when the dialled call ends, with ``DialCallStatus``.
        answered_callback: Requested (POST) when the target answers.
        timeout_s: Ring time before ``no-answer``, seconds.
    """
    response = VoiceResponse()
    dialled = response.dial(action=action, method="POST", timeout=timeout_s)
    dialled.number(
        target,
        status_callback_event="answered",
        status_callback=answered_callback,
        status_callback_method="POST",
    )
    return str(response)


def hang_up() -> str:
    """``<Response><Hangup/></Response>``."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
