"""A finished media socket leaves nothing for the garbage collector (issue 12, bench_soak).

With ``gc.freeze()`` and high thresholds in ``parley serve``, objects in reference cycles
wait long for a collection: every media socket left its uvicorn HTTP protocol in a cycle with
its httptools parser (the upgrade hands the connection over and the HTTP protocol never hears
``connection_lost``, where uvicorn drops the parser), and the WebSocket protocol in a cycle
with its media channel. Real uvicorn on 127.0.0.1 with ``parley serve``'s protocols, a real
``websockets`` client, and the collector off while the socket lives and ends.
"""

from __future__ import annotations

import asyncio
import gc
from collections import Counter

import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from adapters.acs.media_codec import encode_audio_metadata
from adapters.acs.media_stream import AcsMediaStream
from adapters.acs_emulator.serving import serve_app
from adapters.http.header_timeout import header_deadline_protocol
from ports import PCM16_16K

WATCHED = ("MediaSocketProtocol", "MediaChannel", "_Inbox", "AcsMediaStream", "HttpToolsProtocol")
"""Per-connection classes (by name ending: the header-deadline protocol is made per config)."""


def _census() -> Counter[str]:
    names = (type(o).__name__ for o in gc.get_objects())
    return Counter(n for n in names if n.endswith(WATCHED))


async def test_a_closed_media_socket_is_freed_by_reference_counting_alone(
    collector_off: None,
) -> None:
    ended = asyncio.Event()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        stream = AcsMediaStream(websocket, call_id="c1", default_format=PCM16_16K)
        async for _ in stream.events():
            pass
        await stream.close()
        ended.set()

    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    http = header_deadline_protocol(parser="httptools")
    async with serve_app(app, http=http) as base:
        url = base.replace("http", "ws") + "/ws"
        before = _census()
        for _ in range(3):
            ended.clear()
            async with websockets.connect(url) as client:
                await client.send(encode_audio_metadata(PCM16_16K))
            await asyncio.wait_for(ended.wait(), 30)
        for _ in range(50):  # the server's side of the close runs a few loop turns later
            if not _census() - before:
                break
            await asyncio.sleep(0.02)
        left = _census() - before
    assert not left, f"left in reference cycles after the sockets closed: {dict(left)}"
