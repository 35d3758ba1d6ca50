"""Azure Voice Live through its async Python SDK (``azure-ai-voicelive``).

``azure.ai.voicelive.aio.connect(endpoint=..., credential=..., model=...)`` opens
``<endpoint>/voice-live/realtime?api-version=...&model=M`` (http -> ws, https -> wss) with
``api-key`` for an ``AzureKeyCredential`` or ``Authorization: Bearer`` for a Microsoft Entra
token credential (scope ``https://ai.azure.com/.default``). Voice Live speaks the beta shape
of the realtime protocol (flat session fields, ``response.audio.delta``) with Azure voices,
``azure_semantic_vad``, ``azure_deep_noise_suppression`` and server echo cancellation
("Voice Live API reference", https://learn.microsoft.com/azure/ai-services/speech-service/voice-live-api-reference;
docs/wire-protocols.md, "Realtime speech-to-speech"). Events go out through the connection's
``send`` (a mapping) and come in raw (``recv_bytes``), dispatched on ``type``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.realtime.errors import connect_error
from adapters.realtime.session import Connection, ConnectionLost, WireSession
from adapters.realtime.wire import Dialect
from ports import AudioFormat
from ports.realtime import RealtimeConfig

try:
    from azure.ai.voicelive.aio import ConnectionClosed, ConnectionError, connect
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "adapters.realtime.voicelive needs azure-ai-voicelive: pip install 'parley[realtime]'"
    ) from exc


class _Connection:
    """One SDK connection as a :class:`~adapters.realtime.session.Connection`."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def send(self, event: dict[str, Any]) -> None:
        try:
            await self._conn.send(event)
        except (ConnectionError, ConnectionClosed, OSError) as exc:
            raise ConnectionLost(str(exc)) from exc

    async def recv(self) -> bytes | str:
        try:
            raw: bytes = await self._conn.recv_bytes()
        except (ConnectionError, ConnectionClosed, OSError) as exc:
            raise ConnectionLost(str(exc)) from exc
        if not raw:
            # The SDK returns b"" for frames that are neither text nor binary.
            return b"{}"
        return raw

    async def close(self) -> None:
        await self._conn.close()


class VoiceLiveRealtimeModel:
    """Azure Voice Live (``PARLEY_REALTIME=voicelive``).

    Args:
        endpoint: ``https://<resource>.services.ai.azure.com`` (or a local ``http://`` /
            ``ws://`` stand-in).
        credential: ``AzureKeyCredential`` or an async Microsoft Entra token credential.
        model: The model (``gpt-realtime``, ``gpt-4o-mini-realtime-preview``...).
        api_version: API version; empty for the SDK's default.
        connect_timeout_s: Deadline of one WebSocket upgrade.
        max_reconnects: Reconnect attempts after a drop.
        input_chunk_ms: Caller audio per append message, ms (each is a socket write).
    """

    name = "voicelive"

    def __init__(
        self,
        endpoint: str,
        credential: Any,
        model: str,
        *,
        api_version: str = "",
        connect_timeout_s: float = 10.0,
        max_reconnects: int = 3,
        input_chunk_ms: int = 40,
    ) -> None:
        self._endpoint = endpoint
        self._credential = credential
        self._model = model
        self._api_version = api_version
        self._timeout_s = connect_timeout_s
        self._max_reconnects = max_reconnects
        self._input_chunk_ms = input_chunk_ms

    async def _connect(self) -> Connection:
        options: dict[str, Any] = {"model": self._model}
        if self._api_version:
            options["api_version"] = self._api_version
        manager = connect(endpoint=self._endpoint, credential=self._credential, **options)
        try:
            async with asyncio.timeout(self._timeout_s):
                conn = await manager.__aenter__()
        except Exception as exc:  # noqa: BLE001 (every SDK failure becomes a port error)
            raise connect_error(exc) from exc
        return _Connection(conn)

    def session(self, config: RealtimeConfig, fmt: AudioFormat) -> WireSession:
        """A session applying ``config``, exchanging audio in ``fmt`` (converted to 24 kHz)."""
        return WireSession(
            self._connect,
            Dialect.VOICE_LIVE,
            config,
            fmt,
            max_reconnects=self._max_reconnects,
            input_chunk_ms=self._input_chunk_ms,
        )

    async def aclose(self) -> None:
        """Close the credential when it has a close (token credentials)."""
        close = getattr(self._credential, "close", None)
        if close is not None:
            await close()


__all__ = ["VoiceLiveRealtimeModel"]
