"""OpenAI Realtime and Azure OpenAI Realtime (GA protocol) through the ``openai`` SDK.

``AsyncOpenAI.realtime.connect(model=...)`` opens ``<base_url>/realtime?model=M`` (http -> ws)
with ``Authorization: Bearer``; Azure OpenAI's GA path is the same client on
``<endpoint>/openai/v1`` with the deployment as the model ("Use the GPT Realtime API via
WebSockets", https://learn.microsoft.com/azure/ai-foundry/openai/how-to/realtime-audio-websockets;
docs/wire-protocols.md, "Realtime speech-to-speech"). Events are sent as JSON text through the
connection's ``send_raw`` and received raw (``recv_bytes``), dispatched on ``type``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from adapters.realtime.errors import connect_error
from adapters.realtime.session import Connection, ConnectionLost, WireSession
from adapters.realtime.wire import Dialect
from ports import AudioFormat
from ports.realtime import RealtimeConfig

try:
    from openai import AsyncOpenAI, OpenAIError
    from websockets.exceptions import ConnectionClosed
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "adapters.realtime.openai needs the openai SDK: pip install 'parley[realtime]'"
    ) from exc


class _Connection:
    """One SDK connection as a :class:`~adapters.realtime.session.Connection`."""

    def __init__(self, manager: Any, conn: Any) -> None:
        self._manager = manager
        self._conn = conn

    async def send(self, event: dict[str, Any]) -> None:
        try:
            # orjson: each caller-audio append goes through here (a text frame: str, not bytes).
            await self._conn.send_raw(orjson.dumps(event).decode())
        except (ConnectionClosed, OpenAIError, OSError) as exc:
            raise ConnectionLost(str(exc)) from exc

    async def recv(self) -> bytes | str:
        try:
            raw: bytes | str = await self._conn.recv_bytes()
        except (ConnectionClosed, OpenAIError, OSError) as exc:
            raise ConnectionLost(str(exc)) from exc
        return raw

    async def close(self) -> None:
        await self._conn.close()


class OpenAIRealtimeModel:
    """gpt-realtime on OpenAI or Azure OpenAI (``PARLEY_REALTIME=openai|azure_openai``).

    Args:
        client: The SDK client (``AsyncOpenAI(base_url=..., api_key=...)``; for Azure, base
            URL ``<endpoint>/openai/v1`` and the key or an Entra token provider).
        model: Model, or the Azure deployment name.
        name: ``openai`` or ``azure_openai`` (metrics and logs).
        connect_timeout_s: Deadline of one WebSocket upgrade.
        max_reconnects: Reconnect attempts after a drop.
        input_chunk_ms: Caller audio per append message, ms (each is a socket write).
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        model: str,
        *,
        name: str = "openai",
        connect_timeout_s: float = 10.0,
        max_reconnects: int = 3,
        input_chunk_ms: int = 40,
    ) -> None:
        self._client = client
        self._model = model
        self.name = name
        self._timeout_s = connect_timeout_s
        self._max_reconnects = max_reconnects
        self._input_chunk_ms = input_chunk_ms

    async def _connect(self) -> Connection:
        manager = self._client.realtime.connect(model=self._model)
        try:
            async with asyncio.timeout(self._timeout_s):
                conn = await manager.__aenter__()
        except Exception as exc:  # noqa: BLE001 (every SDK failure becomes a port error)
            raise connect_error(exc) from exc
        return _Connection(manager, conn)

    def session(self, config: RealtimeConfig, fmt: AudioFormat) -> WireSession:
        """A session applying ``config``, exchanging audio in ``fmt`` (converted to 24 kHz)."""
        return WireSession(
            self._connect,
            Dialect.GA,
            config,
            fmt,
            max_reconnects=self._max_reconnects,
            input_chunk_ms=self._input_chunk_ms,
        )

    async def aclose(self) -> None:
        """Close the SDK client."""
        await self._client.close()


__all__ = ["OpenAIRealtimeModel"]
