"""The Twilio adapter: Programmable Voice with bidirectional Media Streams.

The Voice webhook answering ``<Connect><Stream>``, the Media Streams WebSocket as a
``ports.MediaStream``, status and transfer callbacks routed as ``ports.CallEvent`` values, and
``ports.CallControl`` on the Twilio REST API. Every webhook is checked with the ``twilio``
package's ``RequestValidator``.

Needs the ``twilio`` extra (``pip install 'parley[twilio]'``).
"""

try:
    from adapters.resilience.retry import RetryConfig
    from adapters.twilio.call_control import (
        TwilioCallControl,
        build_twilio_client,
        map_twilio_error,
    )
    from adapters.twilio.gateway import TwilioGateway, TwilioGatewayConfig, status_to_event
    from adapters.twilio.media_stream import TWILIO_PCM_FORMAT, TwilioMediaStream
    from adapters.twilio.stream_tokens import StreamTokens
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        f"the Twilio adapter needs the twilio extra: pip install 'parley[twilio]' ({exc})"
    ) from exc

__all__ = [
    "TWILIO_PCM_FORMAT",
    "RetryConfig",
    "StreamTokens",
    "TwilioCallControl",
    "TwilioGateway",
    "TwilioGatewayConfig",
    "TwilioMediaStream",
    "build_twilio_client",
    "map_twilio_error",
    "status_to_event",
]
