"""Browser sockets that have not sent ``start`` count against the concurrent-call limit.

Issue 12 item 11: a client could open any number of ``/ws/browser`` sockets and never send
``start``; each waited up to ``PARLEY_IDLE_TIMEOUT_S`` outside the limit. The slot is now
taken as the socket is accepted, so the limit bounds them; one more is refused at once (1013),
and closing a silent socket frees its slot. A real ``create_app`` on uvicorn (127.0.0.1).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets

from adapters.http.browser import CLOSE_TRY_AGAIN_LATER
from bootstrap.app import create_app
from tests.e2e.server_support import fake_container, fake_settings, serving, start_message

pytestmark = pytest.mark.e2e


async def test_silent_sockets_hold_call_slots_and_one_over_the_limit_is_refused_at_once(
    env_file: Path,
) -> None:
    settings = fake_settings({"PARLEY_MAX_CONCURRENT_CALLS": "2"}, env_file)
    app = create_app(fake_container(settings))
    with serving(app) as server:
        silent = [await websockets.connect(server.ws_url) for _ in range(2)]
        try:
            async with websockets.connect(server.ws_url) as third:
                # Refused before it says anything: it need not send start to learn it.
                refusal = json.loads(await asyncio.wait_for(third.recv(), 10))
                await asyncio.wait_for(third.wait_closed(), 10)
            assert refusal["code"] == "busy"
            assert third.close_code == CLOSE_TRY_AGAIN_LATER
            # A silent socket that leaves frees its slot: a real call is admitted.
            await silent.pop().close()
            for _ in range(100):
                async with websockets.connect(server.ws_url) as caller:
                    await caller.send(start_message())
                    first = json.loads(await asyncio.wait_for(caller.recv(), 10))
                    if first["type"] == "started":
                        await caller.send(json.dumps({"type": "hangup"}))
                        break
                await asyncio.sleep(0.05)  # the server has not seen the close yet
            assert first["type"] == "started"
        finally:
            for ws in silent:
                await ws.close()
        metrics = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    assert 'parley_calls_refused_total{reason="busy"}' in metrics
