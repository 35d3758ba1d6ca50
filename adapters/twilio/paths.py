"""The Twilio endpoints' paths and the URLs built from the public base URL."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

VOICE_PATH: Final = "/api/twilio/voice"
"""The phone number's Voice webhook (``A call comes in``): answers with ``<Connect><Stream>``."""

STATUS_PATH: Final = "/api/twilio/status"
"""Call status callbacks (``StatusCallback``)."""

TRANSFER_PATH: Final = "/api/twilio/transfer"
"""A transfer's ``<Number statusCallback>`` (``?event=answered``) and ``<Dial action>``
(``?event=ended``)."""

MEDIA_PATH: Final = "/ws/twilio/media"
"""The Media Streams WebSocket."""


def media_url(public_base_url: str) -> str:
    """``wss://host/ws/twilio/media`` (``ws://`` for an ``http://`` base)."""
    base = public_base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base + MEDIA_PATH


def http_url(public_base_url: str, path: str, **query: str) -> str:
    """``<base><path>?<query>``."""
    url = public_base_url.rstrip("/") + path
    return f"{url}?{urlencode(query)}" if query else url
