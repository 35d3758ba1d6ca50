"""USP framing: the message format of the Azure AI Speech WebSocket protocol.

Wire facts (checked against azure-cognitiveservices-speech 1.53.0 talking to a logging server
on 127.0.0.1; see docs/wire-protocols.md, "Azure AI Speech SDK", and the retired public page
"Microsoft Speech WebSocket protocol", MicrosoftDocs/azure-docs
``articles/cognitive-services/Speech/API-Reference-REST/websocketprotocol.md``):

* Text frame: ``Name: value`` header lines joined by CRLF, a blank line (CRLF CRLF), then the
  body (JSON for most paths, SSML for ``ssml``, plain text for ``text.piece``).
* Binary frame: a 2-byte big-endian header length, the header block (the same CRLF lines,
  ASCII), then the payload (audio bytes).
* Headers every message carries: ``Path``, ``X-RequestId`` (32 hex digits, one per turn),
  ``X-Timestamp`` (ISO 8601 UTC with ms and ``Z``); text bodies add ``Content-Type``.
* Header names are matched case-insensitively here; the SDK writes ``Path``/``X-RequestId``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class UspMessage:
    """One parsed USP message.

    Attributes:
        path: The ``Path`` header, e.g. ``speech.config`` or ``audio``.
        headers: All headers, names lower-cased.
        body: Text body (text frames) or ``""``.
        payload: Binary payload (binary frames) or ``b""``.
        binary: True for a binary frame.
    """

    path: str
    headers: dict[str, str]
    body: str = ""
    payload: bytes = b""
    binary: bool = False

    @property
    def request_id(self) -> str:
        """The ``X-RequestId`` header, or ``""``."""
        return self.headers.get("x-requestid", "")

    def json(self) -> Any:
        """The body parsed as JSON (``{}`` when empty)."""
        return json.loads(self.body) if self.body.strip() else {}


def timestamp() -> str:
    """``X-Timestamp`` value: UTC now, ISO 8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_headers(block: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def parse(message: str | bytes) -> UspMessage:
    """Parse a WebSocket message (text or binary) into a :class:`UspMessage`.

    Raises:
        ValueError: A binary frame shorter than its declared header length.
    """
    if isinstance(message, str):
        block, _, body = message.partition("\r\n\r\n")
        headers = _parse_headers(block)
        return UspMessage(headers.get("path", ""), headers, body=body)
    if len(message) < 2:
        raise ValueError("binary USP frame shorter than its 2-byte header length")
    size = int.from_bytes(message[:2], "big")
    if len(message) < 2 + size:
        raise ValueError("binary USP frame shorter than its declared header block")
    headers = _parse_headers(message[2 : 2 + size].decode("ascii", "replace"))
    return UspMessage(headers.get("path", ""), headers, payload=message[2 + size :], binary=True)


def text_message(
    path: str,
    request_id: str,
    body: Any,
    *,
    content_type: str = "application/json; charset=utf-8",
) -> str:
    """Build a text frame; ``body`` is JSON-encoded unless it is already a string."""
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return (
        f"Path: {path}\r\nX-RequestId: {request_id}\r\nX-Timestamp: {timestamp()}\r\n"
        f"Content-Type: {content_type}\r\n\r\n{text}"
    )


def binary_message(
    path: str, request_id: str, payload: bytes, *, extra: dict[str, str] | None = None
) -> bytes:
    """Build a binary frame: 2-byte big-endian header length, headers, payload."""
    lines = [f"Path: {path}", f"X-RequestId: {request_id}", f"X-Timestamp: {timestamp()}"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    block = ("\r\n".join(lines) + "\r\n").encode("ascii")
    return len(block).to_bytes(2, "big") + block + payload


def riff_sample_rate(header: bytes) -> int:
    """Sample rate (Hz) from a 44-byte RIFF/WAVE header, 16000 when it cannot be read."""
    if len(header) >= 28 and header[:4] == b"RIFF" and header[8:12] == b"WAVE":
        return int.from_bytes(header[24:28], "little") or 16000
    return 16000
