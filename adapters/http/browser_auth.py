"""Who may open ``WS /ws/browser``: the on/off switch and short-lived browser tokens.

A browser cannot set headers on a WebSocket, and query strings end up in access logs, so the
token travels in the ``start`` message (``"token": "..."``). Tokens are JWTs (RFC 7519) signed
with HS256 (RFC 7518 section 3.2) by a server secret, issued by ``POST /api/browser/token``:

* with ``Authorization: Bearer <PARLEY_BROWSER_KEY>`` when a browser key is configured;
* when no browser key is configured, only to loopback clients (the person at the machine that
  runs ``parley serve``); anyone else gets 401.

PyJWT does the signing and checking ("Usage Examples", https://pyjwt.readthedocs.io/en/stable/
usage.html: ``exp``, ``iat``, ``aud``, ``iss`` claims). ``docs/browser-protocol.md`` is the
client's view.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.http.operator_auth import bearer_token

__all__ = ["BrowserAccess", "BrowserAuthError", "BrowserTokens", "browser_token_route"]

ISSUER = "parley"
AUDIENCE = "parley:browser"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class BrowserAuthError(ValueError):
    """A browser token is missing, malformed, badly signed or expired.

    Attributes:
        code: ``"token_missing"``, ``"token_expired"`` or ``"token_invalid"``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class BrowserTokens:
    """Issues and verifies browser tokens (HS256 JWTs).

    Args:
        secret: Signing key, at least 32 bytes; a random one when None (tokens then die
            with the process and work on this instance only).
        ttl_s: Lifetime of an issued token, s.
        clock: Seconds since the epoch (tests pass a fixed clock).
        leeway_s: Clock skew allowed when checking ``exp``, s.

    Raises:
        ValueError: ``secret`` is shorter than 32 bytes.
    """

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        leeway_s: float = 0.0,
    ) -> None:
        if secret is not None and len(secret) < 32:
            raise ValueError("browser token secret must be at least 32 bytes")
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.ttl_s = ttl_s
        self._clock = clock
        self._leeway_s = leeway_s

    def issue(self, subject: str = "browser") -> str:
        """A signed token valid for ``ttl_s`` from now."""
        now = int(self._clock())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + int(self.ttl_s),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str | None) -> None:
        """Check a token's signature, audience, issuer and expiry.

        Raises:
            BrowserAuthError: The token is missing, expired or otherwise invalid.
        """
        if not token:
            raise BrowserAuthError("token_missing", "a browser token is required")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                # Expiry is checked below against this instance's clock, not PyJWT's.
                options={"require": ["exp", "iat", "aud", "iss"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise BrowserAuthError("token_invalid", "the browser token is not valid") from exc
        expires = claims.get("exp")
        if not isinstance(expires, int | float):
            raise BrowserAuthError("token_invalid", "the browser token is not valid")
        if expires + self._leeway_s <= self._clock():
            raise BrowserAuthError("token_expired", "the browser token has expired")


@dataclass(frozen=True, slots=True)
class BrowserAccess:
    """The browser endpoint's switch and token policy.

    Attributes:
        enabled: False answers the WebSocket upgrade with HTTP 403 and hides the pages.
        tokens: Verifies start-message tokens; None accepts calls without one (tests, and
            programmatic embedding that authenticates elsewhere).
        key: The browser key ``POST /api/browser/token`` requires; None issues tokens to
            loopback clients only.
        agents: Names a start message may choose as its starting agent (read per call);
            None accepts only the default (an empty ``agent``).
    """

    enabled: bool = True
    tokens: BrowserTokens | None = None
    key: str | None = field(default=None, repr=False)
    agents: Callable[[], Collection[str]] | None = None

    def check(self, token: str | None, agent: str = "") -> None:
        """Verify a start message's token (no-op without a token policy) and agent choice.

        Raises:
            BrowserAuthError: The token is missing or bad.
            ValueError: ``agent`` is not a configured agent (a bad start message).
        """
        if self.tokens is not None:
            self.tokens.verify(token)
        if agent and (self.agents is None or agent not in self.agents()):
            raise ValueError(f"bad start message: agent: no agent named {agent[:64]!r}")


def browser_token_route(access: BrowserAccess, path: str = "/api/browser/token") -> Route:
    """``POST /api/browser/token``: ``{"token": "...", "expires_in_s": 300}``.

    404 when the browser endpoint is disabled or needs no token; 401 (``WWW-Authenticate:
    Bearer``) without the browser key, or, with no key configured, from a non-loopback client.
    """

    async def issue(request: Request) -> Response:
        if not access.enabled or access.tokens is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        if access.key:
            given = bearer_token(request) or ""
            allowed = hmac.compare_digest(given.encode(), access.key.encode())
        else:
            allowed = request.client is not None and request.client.host in LOOPBACK
        if not allowed:
            return JSONResponse(
                {"error": "unauthorized", "detail": "a valid browser key is required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="parley-browser"'},
            )
        return JSONResponse(
            {"token": access.tokens.issue(), "expires_in_s": access.tokens.ttl_s},
            headers={"Cache-Control": "no-store"},
        )

    return Route(path, issue, methods=["POST"])
