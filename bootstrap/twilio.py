"""Wiring of the Twilio adapter from settings: the REST client, CallControl and the routes.

Used by the container/app factory and by ``parley call --telephony twilio``. Nothing here runs
at import time; ``adapters.twilio`` (and the ``twilio`` package) is imported only when Twilio
is selected.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute

from bootstrap.factories import BuildContext
from bootstrap.settings import Settings, SettingsError, TwilioSettings
from ports import CallControl, CallHandler, CallMetrics

logger = logging.getLogger(__name__)


def twilio_configured(settings: TwilioSettings) -> bool:
    """True when Twilio has an account, a token and a public URL (its routes are served)."""
    return bool(settings.account_sid and settings.auth_token and settings.public_base_url)


def stream_token_key(settings: TwilioSettings) -> bytes | None:
    """The HMAC key of the ``call_token`` stream parameter, shared by every instance.

    Derived (HMAC-SHA256, fixed label) from ``TWILIO_AUTH_TOKEN``, never the token itself.
    """
    if settings.auth_token is None or not settings.auth_token.get_secret_value():
        return None
    material = settings.auth_token.get_secret_value().encode()
    return hmac.new(material, b"parley-twilio-stream-token-v1", hashlib.sha256).digest()


def _required(settings: TwilioSettings) -> tuple[str, str]:
    if not twilio_configured(settings) or settings.auth_token is None:
        raise SettingsError(
            [
                "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PUBLIC_BASE_URL: all are "
                "required for PARLEY_TELEPHONY=twilio"
            ]
        )
    return settings.account_sid, settings.auth_token.get_secret_value()


@contextlib.asynccontextmanager
async def twilio_call_control(ctx: BuildContext) -> AsyncIterator[CallControl]:
    """Selection-table factory (``PARLEY_TELEPHONY=twilio``): the REST ``CallControl``."""
    from adapters.twilio import StreamTokens, TwilioCallControl, build_twilio_client

    settings = ctx.settings.twilio
    account_sid, auth_token = _required(settings)
    client, http = build_twilio_client(account_sid, auth_token, api_base_url=settings.api_base_url)
    control = TwilioCallControl(
        client,
        public_base_url=settings.public_base_url,
        tokens=StreamTokens(stream_token_key(settings)),
        from_number=settings.phone_number,
    )
    try:
        yield control
    finally:
        await http.close()


def twilio_routes_for(
    settings: Settings,
    *,
    call_control: CallControl | None,
    handler: CallHandler,
    metrics: CallMetrics | None,
    router: Any,
    admission: Any = None,
    on_gateway: Callable[[Any], None] | None = None,
) -> Sequence[BaseRoute]:
    """The Twilio routes for the app factory, or none when Twilio is not selected.

    Args:
        settings: All settings (``PARLEY_TELEPHONY``, the ``TWILIO_`` group).
        call_control: The opened Twilio ``CallControl`` (None: not configured, no routes).
        handler: The core's driving port.
        metrics: Counts dropped media messages.
        router: The process's call event router.
        admission: Shared call admission.
        on_gateway: Given the gateway once built (the outbound dialer places calls on it).
    """
    twilio = settings.twilio
    if settings.providers.telephony != "twilio" or not twilio_configured(twilio):
        return ()
    if call_control is None:
        logger.warning("Twilio is configured but its call control is not: no Twilio routes")
        return ()
    from adapters.twilio import StreamTokens, TwilioGateway, TwilioGatewayConfig

    _account_sid, auth_token = _required(twilio)
    if not twilio.validate_signatures:
        logger.warning(
            "!!! Twilio signature checks are off (TWILIO_VALIDATE_SIGNATURES is false): "
            "anyone can post to /api/twilio/*. Use this only offline with the emulator. !!!"
        )
    gateway = TwilioGateway(
        TwilioGatewayConfig(
            public_base_url=twilio.public_base_url,
            auth_token=auth_token,
            validate_signatures=twilio.validate_signatures,
            idle_timeout_s=settings.server.idle_timeout_s,
            playout_lead_ms=twilio.playout_lead_ms,
        ),
        call_control=call_control,
        handler=handler,
        router=router,
        tokens=StreamTokens(stream_token_key(twilio)),
        metrics=metrics,
        admission=admission,
    )
    if on_gateway is not None:
        on_gateway(gateway)
    return gateway.routes()
