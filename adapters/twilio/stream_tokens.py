"""Per-stream tokens in the ``<Stream>`` custom parameters: only streams we asked for run.

Every ``<Connect><Stream>`` TwiML Parley hands Twilio carries ``<Parameter name="call_token">``
(``<nonce>.<mac>``, the MAC an HMAC-SHA256 over the nonce with the deployment's key); Twilio
delivers it in the media socket's ``start.customParameters``. A socket whose ``start`` lacks a
token this deployment issued is closed before any audio reaches the core. The key is shared by
the deployment's instances (derived from ``TWILIO_AUTH_TOKEN`` in bootstrap), so any instance
accepts a stream another one set up. Webhooks and callbacks are authenticated separately, by
their ``X-Twilio-Signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

TOKEN_PARAMETER: Final = "call_token"  # noqa: S105 (a parameter name, not a secret)
"""Name of the ``<Parameter>`` carrying the token."""

_MAC_CHARS: Final = 22


class StreamTokens:
    """Issues and checks stream tokens; one per gateway (no module state).

    Args:
        key: HMAC key shared by the deployment's instances; None for a random one.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, nonce: str) -> str:
        digest = hmac.new(self._key, nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]

    def issue(self) -> str:
        """A fresh token ``<nonce>.<mac>`` (URL-safe characters only)."""
        nonce = secrets.token_urlsafe(12)
        return f"{nonce}.{self._mac(nonce)}"

    def verify(self, token: str) -> bool:
        """True when ``token`` was issued with this deployment's key (constant-time check)."""
        nonce, dot, mac = token.partition(".")
        if not dot or not nonce or len(token) > 200:
            return False
        return hmac.compare_digest(mac.encode(), self._mac(nonce).encode())
