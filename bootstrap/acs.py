"""Wiring of the ACS adapter from settings: the SDK client, CallControl, token checks, routes.

Used by the container/app factory and by ``parley call``. Nothing here runs at import time.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute

from adapters.acs.auth import AcsAuthConfig, AcsTokenValidator
from adapters.acs.call_control import AcsCallControl, build_call_automation_client
from adapters.acs.gateway import AcsGateway, AcsGatewayConfig
from adapters.acs.media_codec import ACS_AUDIO_FORMATS
from adapters.acs.router import CallEventRouter, LocalCallEventRouter
from bootstrap.factories import BuildContext
from bootstrap.settings import AcsSettings, Settings, SettingsError
from ports import (
    CallControl,
    CallHandler,
    CallMetrics,
)

logger = logging.getLogger(__name__)


def parse_connection_string(value: str) -> tuple[str, str]:
    """``endpoint=...;accesskey=...`` -> (endpoint, access key).

    Unlike the SDK's ``from_connection_string``, an ``http://`` endpoint is kept as is, so the
    local emulator works (docs/wire-protocols.md, "ACS Call Automation").

    Raises:
        SettingsError: A part is missing (names ``ACS_CONNECTION_STRING``, never the value).
    """
    parts: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, val = part.partition("=")
        if sep:
            parts[key.strip().lower()] = val.strip()
    endpoint, key = parts.get("endpoint", ""), parts.get("accesskey", "")
    if not endpoint or not key:
        raise SettingsError(["ACS_CONNECTION_STRING: needs endpoint=...;accesskey=..."])
    return endpoint.rstrip("/"), key


def acs_configured(settings: AcsSettings) -> bool:
    """True when ACS has a connection string or an endpoint (the ACS routes are served)."""
    return bool(settings.connection_string or settings.endpoint)


@dataclass(slots=True)
class AcsClient:
    """The SDK client and the ``CallControl`` on it; ``aclose`` closes both at shutdown.

    Attributes:
        call_control: ``ports.CallControl`` for the runtime (transfers, hang-ups, DTMF).
    """

    call_control: AcsCallControl
    _client: Any
    _credential: Any = None

    async def aclose(self) -> None:
        """Close the SDK client (and the token credential, when one was built)."""
        await self._client.close()
        if self._credential is not None and hasattr(self._credential, "close"):
            await self._credential.close()


def build_acs_client(settings: AcsSettings) -> AcsClient:
    """The Call Automation client and ``AcsCallControl`` from ``ACS_*`` settings.

    A connection string gives an access key (HMAC); otherwise ``ACS_ENDPOINT`` with a managed
    identity (``ACS_MANAGED_IDENTITY_CLIENT_ID``) or ``DefaultAzureCredential``.

    Raises:
        SettingsError: Neither a connection string nor an endpoint.
    """
    credential: Any
    owned_credential: Any = None
    if settings.connection_string is not None:
        endpoint, key = parse_connection_string(settings.connection_string.get_secret_value())
        from azure.core.credentials import AzureKeyCredential

        credential = AzureKeyCredential(key)
    elif settings.endpoint:
        endpoint = settings.endpoint.rstrip("/")
        from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

        credential = (
            ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
            if settings.managed_identity_client_id
            else DefaultAzureCredential()
        )
        owned_credential = credential
    else:
        raise SettingsError(["ACS_CONNECTION_STRING or ACS_ENDPOINT: one is required for ACS"])
    client = build_call_automation_client(
        endpoint, credential, api_version=settings.api_version or None
    )
    # enforce_https only concerns bearer tokens; with an access key the SDK must not see it.
    enforce_https = settings.enforce_https if owned_credential is not None else True
    call_control = AcsCallControl(client, enforce_https=enforce_https)
    return AcsClient(call_control, client, owned_credential)


def call_token_key(settings: AcsSettings) -> bytes | None:
    """The HMAC key of the per-call callback/media URL tokens, shared by every instance.

    Derived (HMAC-SHA256, fixed label) from the ACS access key in ``ACS_CONNECTION_STRING``,
    else from ``ACS_WEBHOOK_KEY``; never the secret itself. None when neither is set: the
    gateway then uses a random key, so callbacks are bound to the instance that answered.
    """
    material = ""
    if settings.connection_string is not None:
        material = parse_connection_string(settings.connection_string.get_secret_value())[1]
    elif settings.webhook_key is not None:
        material = settings.webhook_key.get_secret_value()
    if not material:
        return None
    return hmac.new(material.encode(), b"parley-acs-call-token-v1", hashlib.sha256).digest()


def warn_if_webhook_open(settings: AcsSettings) -> None:
    """Log a loud warning when ``ACS_WEBHOOK_KEY`` is empty (the Event Grid webhook is open)."""
    if settings.webhook_key is None or not settings.webhook_key.get_secret_value():
        logger.warning(
            "!!! ACS_WEBHOOK_KEY is empty: POST /api/acs/events accepts Event Grid posts from "
            "anyone, and each IncomingCall in them is answered. Set ACS_WEBHOOK_KEY and put "
            "?code=<key> on the Event Grid subscription's endpoint URL. !!!"
        )


def build_acs_gateway(
    settings: AcsSettings,
    *,
    call_control: CallControl,
    handler: CallHandler,
    metrics: CallMetrics | None,
    public_base_url: str,
    idle_timeout_s: float = 30.0,
    router: CallEventRouter | None = None,
    admission: Any = None,
) -> AcsGateway:
    """The ACS endpoints (``gateway.routes()`` -> ``build_app(extra_routes=...)``).

    Args:
        settings: The ``ACS_`` group.
        call_control: From :func:`build_acs_client`.
        handler: The core's driving port.
        metrics: Counts dropped media frames.
        public_base_url: Used when ``ACS_CALLBACK_BASE_URL`` is empty (local runs).
        idle_timeout_s: Media socket idle timeout, seconds.
        router: Call event router (the multi-instance one); a local table when omitted.
        admission: Shared call admission (``acquire()``/``release()``), optional.

    Raises:
        SettingsError: Token checks on without ``ACS_RESOURCE_ID``.
    """
    validator: AcsTokenValidator | None = None
    if settings.verify_tokens:
        if not settings.resource_id:
            raise SettingsError(
                ["ACS_RESOURCE_ID: required while ACS_VERIFY_TOKENS=true (the JWT audience)"]
            )
        validator = AcsTokenValidator(
            AcsAuthConfig(
                audience=settings.resource_id,
                openid_config_url=settings.openid_config_url,
                jwks_url=settings.jwks_url or None,
            )
        )
    else:
        logger.warning(
            "!!! ACS token checks are off (ACS_VERIFY_TOKENS is false): ACS callbacks and "
            "media connections are NOT "
            "authenticated. Use this only offline with the local emulator. !!!"
        )
    warn_if_webhook_open(settings)
    token_key = call_token_key(settings)
    if token_key is None:
        logger.info(
            "ACS call tokens use a per-process key (no ACS_CONNECTION_STRING access key or "
            "ACS_WEBHOOK_KEY): callbacks are accepted only by the instance that answered"
        )
    return AcsGateway(
        AcsGatewayConfig(
            public_base_url=settings.callback_base_url or public_base_url,
            media_format=ACS_AUDIO_FORMATS[settings.audio_format],
            verify_tokens=settings.verify_tokens,
            webhook_key=(settings.webhook_key.get_secret_value() if settings.webhook_key else None),
            idle_timeout_s=idle_timeout_s,
            call_token_key=token_key,
        ),
        call_control=call_control,
        handler=handler,
        router=router or LocalCallEventRouter(),
        validator=validator,
        metrics=metrics,
        admission=admission,
    )


@contextlib.asynccontextmanager
async def acs_call_control(ctx: BuildContext) -> AsyncIterator[CallControl]:
    """Selection-table factory (``PARLEY_TELEPHONY=acs``): ``AcsCallControl``, closed at stop."""
    client = build_acs_client(ctx.settings.acs)
    try:
        yield client.call_control
    finally:
        await client.aclose()


def acs_routes_for(
    settings: Settings,
    *,
    call_control: CallControl | None,
    handler: CallHandler,
    metrics: CallMetrics | None,
    admission: Any = None,
    router: CallEventRouter | None = None,
    on_gateway: Callable[[AcsGateway], None] | None = None,
) -> Sequence[BaseRoute]:
    """The ACS routes for the app factory, or none when ACS is not configured.

    Args:
        settings: All settings (``PARLEY_TELEPHONY``, the ``ACS_`` group, the server address).
        call_control: The opened ``CallControl`` (``None`` when telephony is off or its
            adapter could not be configured: no routes then, the placeholders answer 503).
        handler: The core's driving port.
        metrics: Counts dropped media frames.
        admission: Shared call admission.
        router: The process's call event router (callbacks are delivered through it, media
            sockets attach to it); a local table when omitted.
        on_gateway: Given the gateway once built (the outbound dialer places calls on it).

    Raises:
        SettingsError: ACS is configured with token checks on and no ``ACS_RESOURCE_ID``.
    """
    if settings.providers.telephony != "acs" or not acs_configured(settings.acs):
        return ()
    if call_control is None:
        logger.warning("ACS is configured but its call control is not: ACS routes answer 503")
        return ()
    from bootstrap.realtime import effective_acs

    gateway = build_acs_gateway(
        effective_acs(settings),
        call_control=call_control,
        handler=handler,
        metrics=metrics,
        public_base_url=f"http://{settings.server.host}:{settings.server.port}",
        idle_timeout_s=settings.server.idle_timeout_s,
        admission=admission,
        router=router,
    )
    if on_gateway is not None:
        on_gateway(gateway)
    return gateway.routes()
