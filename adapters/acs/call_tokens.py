"""Per-call secrets in the callback and media URLs given to ``answer_call``.

ACS posts every Call Automation callback to the ``callbackUri`` given at answer time and opens
the media socket at the ``transportUrl`` given there, query string included (docs: "Call
Automation overview",
learn.microsoft.com/azure/communication-services/concepts/call-automation/call-automation,
and "Audio streaming quickstart"). So each answer gets a fresh token in both URLs
(``?call_token=<nonce>.<mac>``): the MAC (HMAC-SHA256 over the nonce with the deployment's
key) proves the URL was issued by this deployment, so a callback or socket without one was
never asked for; the instance that answered also binds the token to the call connection id,
so a validly signed callback cannot name another call. The query name contains ``token`` so
the log redaction filter removes its value from access logs.

The key is shared by every instance of one deployment (bootstrap derives it from the ACS
access key or the webhook key); a random key is used otherwise, which binds callbacks to this
process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from typing import Final

from adapters.routing.expiring import TtlMap

TOKEN_PARAM: Final = "call_token"  # noqa: S105 (a parameter name, not a secret)
"""Query parameter carrying the token on the callback URL and the media ``transportUrl``."""

_MAC_CHARS: Final = 22


class CallTokens:
    """Issues, checks and binds per-call URL tokens; one per gateway (no module state).

    Args:
        key: HMAC key shared by the deployment's instances; None for a random one.
        max_bound: Most token -> call bindings remembered (oldest forgotten first).
    """

    def __init__(self, key: bytes | None = None, *, max_bound: int = 10_000) -> None:
        self._key = key or secrets.token_bytes(32)
        self._bound: TtlMap[str] = TtlMap(ttl_s=math.inf, max_size=max_bound)

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

    def bind(self, token: str, call_id: str) -> None:
        """Remember that ``token`` was issued for ``call_id`` (after the answer returned)."""
        self._bound.put(token, call_id)

    def call_for(self, token: str) -> str | None:
        """The call ``token`` was bound to here, or None (issued elsewhere, or not yet)."""
        return self._bound.get(token)

    def calls_bound(self) -> set[str]:
        """Every call id bound here (the calls this instance answered and remembers)."""
        return {call_id for _, call_id in self._bound.items()}
