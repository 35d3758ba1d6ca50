"""Connection and auth settings for the Azure Speech adapters, and ``SpeechConfig`` building.

Auth (Speech SDK docs, "SpeechConfig class" and "Microsoft Entra authentication with the Speech
SDK"):

* subscription key and region (``SpeechConfig(subscription=..., region=...)``);
* a key with an ``endpoint`` (full ``wss://`` or ``ws://`` URL) or a ``host``
  (``wss://host[:port]``, the SDK appends the standard path) - how tests reach the local
  stand-in;
* a Microsoft Entra token from an ``azure.core`` ``TokenCredential`` (scope
  ``https://cognitiveservices.azure.com/.default``). The SDK sends it as
  ``Authorization: Bearer``; with a ``resource_id`` it is sent in the ``aad#<resource id>#<token>``
  form the service wants with a region. Tokens are cached per adapter instance and refreshed
  ``refresh_margin_s`` before they expire; long recognitions get the new token pushed to
  ``recognizer.authorization_token``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters.azure_speech._sdk import speechsdk
from ports import AuthenticationError, ProviderError

logger = logging.getLogger(__name__)

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"


class AccessTokenLike(Protocol):
    """``azure.core.credentials.AccessToken``: ``token`` and ``expires_on`` (epoch s)."""

    token: str
    expires_on: int


class TokenCredentialLike(Protocol):
    """The part of ``azure.core.credentials.TokenCredential`` used here (blocking)."""

    def get_token(self, *scopes: str) -> Any:
        """Return an access token for ``scopes``."""
        ...


@dataclass(frozen=True, slots=True)
class AzureSpeechAuth:
    """Where the Speech service is and how to authenticate.

    Exactly one of ``region``, ``endpoint`` or ``host`` locates the service; a ``key`` or a
    ``credential`` authenticates (the stand-in accepts either).

    Attributes:
        key: Speech resource key (``Ocp-Apim-Subscription-Key``).
        region: Azure region, e.g. ``westeurope``.
        endpoint: Full recognition WebSocket URL (custom domain or private endpoint).
        host: ``wss://host[:port]`` (or ``ws://`` locally); standard paths are appended.
        synthesis_endpoint: Full synthesis URL; by default derived from ``host``/``endpoint``.
        credential: Microsoft Entra ``TokenCredential`` (managed identity, ...).
        resource_id: Speech resource id, for the ``aad#...#token`` form with a region.
        refresh_margin_s: Refresh a token this long before it expires.
    """

    key: str | None = field(default=None, repr=False)
    region: str | None = None
    endpoint: str | None = None
    host: str | None = None
    synthesis_endpoint: str | None = None
    credential: TokenCredentialLike | None = field(default=None, repr=False)
    resource_id: str | None = None
    refresh_margin_s: float = 300.0

    def __post_init__(self) -> None:
        if not (self.region or self.endpoint or self.host):
            raise ValueError("AzureSpeechAuth needs one of region, endpoint or host")
        if self.key is None and self.credential is None:
            raise ValueError("AzureSpeechAuth needs a key or a credential")

    def synthesis_url(self, *, text_stream: bool) -> str | None:
        """The synthesis endpoint URL, or ``None`` to let the SDK derive it (v1 with region)."""
        version = "v2" if text_stream else "v1"
        if self.synthesis_endpoint:
            base = self.synthesis_endpoint.rsplit("/v", 1)[0]
            return f"{base}/{version}"
        if self.host:
            return f"{self.host.rstrip('/')}/cognitiveservices/websocket/{version}"
        if self.endpoint:
            root = self.endpoint.split("/speech/", 1)[0].split("/cognitiveservices/", 1)[0]
            return f"{root}/cognitiveservices/websocket/{version}"
        if text_stream and self.region:
            return f"wss://{self.region}.tts.speech.microsoft.com/cognitiveservices/websocket/v2"
        return None


class TokenCache:
    """One Entra token per adapter instance, refreshed before expiry (no module state).

    Args:
        auth: The settings holding the credential.
    """

    def __init__(self, auth: AzureSpeechAuth) -> None:
        self._auth = auth
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock = asyncio.Lock()

    @property
    def expires_on(self) -> float:
        """Epoch seconds when the cached token expires (0 when none)."""
        return self._expires_on

    async def get(self, timeout_s: float = 10.0) -> str:
        """A valid token in the form the SDK wants.

        Raises:
            AuthenticationError: The credential refused or failed.
        """
        credential = self._auth.credential
        if credential is None:
            raise AuthenticationError("no credential configured", port="speech")
        async with self._lock:
            if self._token and self._expires_on - time.time() > self._auth.refresh_margin_s:
                return self._token
            try:
                access = await asyncio.wait_for(
                    asyncio.to_thread(credential.get_token, COGNITIVE_SERVICES_SCOPE), timeout_s
                )
            except TimeoutError as exc:
                raise AuthenticationError("Entra token request timed out", port="speech") from exc
            except Exception as exc:
                raise AuthenticationError(
                    f"Entra token request failed: {type(exc).__name__}", port="speech"
                ) from exc
            raw = str(access.token)
            self._expires_on = float(access.expires_on)
            rid = self._auth.resource_id
            self._token = f"aad#{rid}#{raw}" if rid and self._auth.region else raw
            return self._token


def build_speech_config(
    auth: AzureSpeechAuth, token: str | None, *, endpoint: str | None = None
) -> Any:
    """A ``speechsdk.SpeechConfig`` for ``auth``.

    Args:
        auth: Location and credentials.
        token: Entra token (from :class:`TokenCache`) when no key is used.
        endpoint: Override the endpoint (synthesis v1/v2 URLs).

    Raises:
        ProviderError: The SDK refused the combination (message names the problem).
    """
    try:
        key = auth.key if token is None else None
        if endpoint or auth.endpoint:
            config = speechsdk.SpeechConfig(endpoint=endpoint or auth.endpoint, subscription=key)
        elif auth.host:
            config = speechsdk.SpeechConfig(host=auth.host, subscription=key)
        elif key is not None:
            config = speechsdk.SpeechConfig(subscription=key, region=auth.region)
        else:
            config = speechsdk.SpeechConfig(auth_token=token, region=auth.region)
        if token is not None:
            # With a host or endpoint the SDK takes the token only as a property.
            config.authorization_token = token
    except (ValueError, RuntimeError) as exc:
        raise ProviderError(f"invalid Azure Speech configuration: {exc}", port="speech") from exc
    return config


def candidate_languages(languages: Sequence[str]) -> Any:
    """An ``AutoDetectSourceLanguageConfig`` for language identification (up to 10 tags)."""
    return speechsdk.languageconfig.AutoDetectSourceLanguageConfig(languages=list(languages))


__all__ = [
    "COGNITIVE_SERVICES_SCOPE",
    "AzureSpeechAuth",
    "TokenCache",
    "build_speech_config",
    "candidate_languages",
]
