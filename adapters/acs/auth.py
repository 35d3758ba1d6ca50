"""Validation of the JWTs ACS puts on callbacks and on the media WebSocket upgrade.

ACS signs both with RS256: issuer ``https://acscallautomation.communication.azure.com``,
audience = the ACS resource id (its immutable resource GUID), signing keys published through
the OpenID configuration at
``https://acscallautomation.communication.azure.com/calling/.well-known/acsopenidconfiguration``
(``jwks_uri`` -> ``/calling/keys``). Docs: "How to secure webhook endpoint"
(learn.microsoft.com/azure/communication-services/how-tos/call-automation/secure-webhook-endpoint;
callback tokens live 5 minutes)
and "Audio streaming quickstart"; docs/wire-protocols.md, "ACS media streaming WebSocket".

Keys are fetched and cached by PyJWT's :class:`jwt.PyJWKClient`; its fetch is blocking urllib,
so it runs in a worker thread with a timeout. The OpenID configuration and JWKS URLs are
configurable so tests and the local emulator serve their own keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
import jwt

logger = logging.getLogger(__name__)

ACS_ISSUER: Final = "https://acscallautomation.communication.azure.com"
"""Issuer of ACS callback and media tokens ("Secure webhook endpoint")."""

ACS_OPENID_CONFIG_URL: Final = f"{ACS_ISSUER}/calling/.well-known/acsopenidconfiguration"
"""Where ACS publishes its OpenID configuration (and through it the JWKS)."""


class TokenRejectedError(Exception):
    """A request's bearer token is missing or invalid.

    Attributes:
        reason: Short, loggable cause (``missing``, ``expired``, ``bad_audience``,
            ``bad_issuer``, ``bad_signature``, ``unknown_key``, ``malformed``,
            ``keys_unavailable``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AcsAuthConfig:
    """How ACS tokens are checked.

    Attributes:
        audience: Expected ``aud``: the ACS resource id.
        issuer: Expected ``iss``.
        openid_config_url: OpenID configuration to read ``jwks_uri`` from.
        jwks_url: JWKS URL; when set, discovery is skipped.
        leeway_s: Clock skew allowed on ``exp``/``nbf``, seconds.
        fetch_timeout_s: Timeout of each key fetch, seconds.
        jwks_cache_s: How long fetched keys are trusted before a refetch, seconds.
    """

    audience: str
    issuer: str = ACS_ISSUER
    openid_config_url: str = ACS_OPENID_CONFIG_URL
    jwks_url: str | None = None
    leeway_s: float = 30.0
    fetch_timeout_s: float = 5.0
    jwks_cache_s: int = 3600


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AcsTokenValidator:
    """Checks ACS RS256 tokens against ACS's published keys; one instance per process.

    Args:
        config: Audience, issuer and key location.
    """

    def __init__(self, config: AcsAuthConfig) -> None:
        self._config = config
        self._jwks_client: jwt.PyJWKClient | None = None
        self._discovery_lock = asyncio.Lock()

    @property
    def config(self) -> AcsAuthConfig:
        """The configuration in force."""
        return self._config

    async def _client(self) -> jwt.PyJWKClient:
        if self._jwks_client is not None:
            return self._jwks_client
        async with self._discovery_lock:
            if self._jwks_client is None:
                url = self._config.jwks_url or await self._discover()
                self._jwks_client = jwt.PyJWKClient(
                    url,
                    cache_keys=True,
                    lifespan=self._config.jwks_cache_s,
                    timeout=int(max(1, self._config.fetch_timeout_s)),
                )
        return self._jwks_client

    async def _discover(self) -> str:
        try:
            async with httpx.AsyncClient(timeout=self._config.fetch_timeout_s) as client:
                response = await client.get(self._config.openid_config_url)
                response.raise_for_status()
                jwks_uri = response.json()["jwks_uri"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ACS OpenID configuration unavailable: %s", type(exc).__name__)
            raise TokenRejectedError("keys_unavailable") from exc
        if not isinstance(jwks_uri, str):
            raise TokenRejectedError("keys_unavailable")
        return jwks_uri

    async def validate(self, token: str | None) -> dict[str, Any]:
        """Validate ``token`` and return its claims.

        Args:
            token: The compact JWT, or ``None`` when the request had none.

        Returns:
            The verified claims.

        Raises:
            TokenRejectedError: Missing, malformed, expired, wrong audience or issuer, signed
                by an unknown key, or the keys could not be fetched.
        """
        if not token:
            raise TokenRejectedError("missing")
        client = await self._client()
        try:
            signing_key = await asyncio.wait_for(
                asyncio.to_thread(client.get_signing_key_from_jwt, token),
                timeout=self._config.fetch_timeout_s + 1,
            )
        except jwt.exceptions.PyJWKClientConnectionError as exc:
            raise TokenRejectedError("keys_unavailable") from exc
        except TimeoutError as exc:
            raise TokenRejectedError("keys_unavailable") from exc
        except jwt.exceptions.PyJWKClientError as exc:
            raise TokenRejectedError("unknown_key") from exc
        except jwt.exceptions.DecodeError as exc:
            raise TokenRejectedError("malformed") from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                audience=self._config.audience,
                issuer=self._config.issuer,
                leeway=self._config.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejectedError("expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenRejectedError("bad_audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenRejectedError("bad_issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenRejectedError("bad_signature") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenRejectedError("malformed") from exc
        return claims
