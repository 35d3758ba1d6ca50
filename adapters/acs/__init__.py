"""The ACS adapter: CallControl, media codec and WebSocket, webhooks, token checks.

Call Automation ``CallControl`` on the SDK, the media streaming codec and WebSocket stream, the
Event Grid and callback endpoints, and ACS token validation.

Needs ``azure-communication-callautomation`` (a dependency of ``parley`` itself; managed
identity also needs ``azure-identity`` from ``pip install 'parley[azure]'``).
"""

try:
    from adapters.acs.auth import AcsAuthConfig, AcsTokenValidator, TokenRejectedError
    from adapters.acs.call_control import (
        AcsCallControl,
        build_call_automation_client,
        map_sdk_error,
    )
    from adapters.acs.gateway import AcsGateway, AcsGatewayConfig, acs_routes
    from adapters.acs.media_stream import AcsMediaStream
    from adapters.acs.router import CallEventFeed, CallEventRouter, LocalCallEventRouter
    from adapters.resilience.retry import RetryConfig
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the ACS adapter needs azure-communication-callautomation, a dependency of parley:"
        f" reinstall parley ({exc})"
    ) from exc

__all__ = [
    "AcsAuthConfig",
    "AcsCallControl",
    "AcsGateway",
    "AcsGatewayConfig",
    "AcsMediaStream",
    "AcsTokenValidator",
    "CallEventFeed",
    "CallEventRouter",
    "LocalCallEventRouter",
    "RetryConfig",
    "TokenRejectedError",
    "acs_routes",
    "build_call_automation_client",
    "map_sdk_error",
]
