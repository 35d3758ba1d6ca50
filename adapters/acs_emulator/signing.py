r"""The emulator's signing material: its RSA key, JWKS, ACS-style JWTs, and HMAC checking.

Real ACS signs callbacks and the media WebSocket upgrade with RS256 JWTs (issuer
``https://acscallautomation.communication.azure.com``, audience = ACS resource id) and publishes
its keys through ``/calling/.well-known/acsopenidconfiguration`` -> ``/calling/keys`` (docs:
"How to secure webhook endpoint",
learn.microsoft.com/azure/communication-services/how-tos/call-automation/secure-webhook-endpoint).
The emulator holds its own key and serves the same two documents, so a Parley server
configured with the emulator's OpenID URL validates exactly as in production.

Requests from the SDK to the REST API carry ``Authorization: HMAC-SHA256
SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=...`` over
``VERB\n/path?query\n<x-ms-date>;<host>;<x-ms-content-sha256>`` keyed with the base64-decoded
access key (docs/wire-protocols.md, "ACS Call Automation"; docs: "Sign an HTTP request with HMAC").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ACS_ISSUER: Final = "https://acscallautomation.communication.azure.com"


class EmulatorSigner:
    """An RSA key pair that signs ACS-style tokens and publishes itself as a JWKS.

    Args:
        issuer: ``iss`` of minted tokens.
        kid: Key id; random when omitted (derived from the key when ``key_path`` is given).
        key_path: PEM file holding the key: loaded when it exists, else created (mode 0600).
            A server that cached this key's JWKS then trusts later emulator runs too.
    """

    def __init__(
        self, *, issuer: str = ACS_ISSUER, kid: str | None = None, key_path: Path | None = None
    ) -> None:
        self.issuer = issuer
        self._key = self._load_or_create(key_path)
        if kid is None and key_path is not None:
            numbers = self._key.public_key().public_numbers()
            kid = hashlib.sha256(str(numbers.n).encode()).hexdigest()[:32]
        self.kid = kid or uuid.uuid4().hex

    @staticmethod
    def _load_or_create(key_path: Path | None) -> rsa.RSAPrivateKey:
        if key_path is not None and key_path.is_file():
            loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if isinstance(loaded, rsa.RSAPrivateKey):
                return loaded
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_path is not None:
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            key_path.parent.mkdir(parents=True, exist_ok=True)
            key_path.touch(mode=0o600, exist_ok=True)
            key_path.write_bytes(pem)
        return key

    def jwks(self) -> dict[str, Any]:
        """The public key as a JWKS document (``{"keys": [{kty, kid, use, alg, n, e}]}``)."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def openid_configuration(self, base_url: str) -> dict[str, Any]:
        """The ``acsopenidconfiguration`` document pointing at ``{base_url}/calling/keys``."""
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{base_url}/calling/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def mint(
        self,
        *,
        audience: str,
        lifetime_s: float = 300.0,
        issuer: str | None = None,
        claims: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> str:
        """A signed RS256 token as ACS would put on a callback or the media upgrade.

        Args:
            audience: ``aud``: the ACS resource id the receiver expects.
            lifetime_s: Seconds until ``exp``; negative gives an already expired token.
            issuer: ``iss``; defaults to the signer's issuer.
            claims: Extra claims.
            now: Issue time (Unix seconds); defaults to the current time.
        """
        issued = time.time() if now is None else now
        payload: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "aud": audience,
            "iat": int(issued),
            "nbf": int(issued) - 1 if lifetime_s > 0 else int(issued + lifetime_s) - 60,
            "exp": int(issued + lifetime_s),
        }
        payload.update(claims or {})
        return jwt.encode(payload, self._key, algorithm="RS256", headers={"kid": self.kid})


def sha256_b64(body: bytes) -> str:
    """Base64 SHA-256 of ``body``: the ``x-ms-content-sha256`` header value."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def hmac_string_to_sign(verb: str, path_and_query: str, date: str, host: str, digest: str) -> str:
    r"""The string the ACS SDK signs: ``VERB\n/path?query\n<date>;<host>;<sha256>``."""
    return f"{verb.upper()}\n{path_and_query}\n{date};{host};{digest}"


def hmac_signature(access_key_b64: str, string_to_sign: str) -> str:
    """Base64 HMAC-SHA256 of ``string_to_sign`` with the base64-decoded access key."""
    key = base64.b64decode(access_key_b64)
    return base64.b64encode(
        hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    ).decode()


def verify_hmac_request(
    *,
    access_key_b64: str,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> str | None:
    """Check an SDK request's HMAC-SHA256 signature.

    Args:
        access_key_b64: The ACS access key, base64 (as in a connection string).
        method: HTTP verb.
        path_and_query: Raw ``/path?query`` as sent.
        headers: Request headers (case-insensitive mapping).
        body: Raw body bytes.

    Returns:
        ``None`` when valid, else a short reason (``missing_authorization``,
        ``bad_content_hash``, ``bad_signature``...).
    """
    auth = headers.get("authorization", "")
    if not auth.startswith("HMAC-SHA256 "):
        return "missing_authorization"
    params = dict(
        part.split("=", 1) for part in auth[len("HMAC-SHA256 ") :].split("&") if "=" in part
    )
    if params.get("SignedHeaders") != "x-ms-date;host;x-ms-content-sha256":
        return "bad_signed_headers"
    date = headers.get("x-ms-date")
    digest = headers.get("x-ms-content-sha256")
    host = headers.get("host")
    if not date or not digest or not host:
        return "missing_signed_header"
    if not hmac.compare_digest(digest, sha256_b64(body)):
        return "bad_content_hash"
    expected = hmac_signature(
        access_key_b64, hmac_string_to_sign(method, path_and_query, date, host, digest)
    )
    if not hmac.compare_digest(params.get("Signature", ""), expected):
        return "bad_signature"
    return None
