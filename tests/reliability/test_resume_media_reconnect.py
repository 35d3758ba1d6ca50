"""A call survives its media WebSocket dropping and reconnecting, on one or two instances.

Real ``parley serve`` processes (fake engines, the echo model, ``PARLEY_STORE=redis``), a real
redis-server and the local ACS emulator as ACS. The caller keys a DTMF turn, the emulator
drops the media socket mid-call and opens a new one for the same call connection id (as ACS
does after a network blip), to the same instance or to the other one; the caller keys a
second turn. The stored transcript must read: one greeting, both turns answered, nothing
repeated; the stored session keeps the agent and the whole history.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from adapters.acs_emulator.media_client import MediaClient
from adapters.acs_emulator.server import AcsEmulator, EmulatedCall
from tests.e2e.redis_support import redis_reader, until, until_quiet
from tests.e2e.test_redis_instances import parley_serve, server_env, wait_ready
from tests.fixtures.redis_server import RedisServer, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@asynccontextmanager
async def instances(
    names: tuple[str, ...], redis_url: str, logs: Path
) -> AsyncIterator[tuple[AcsEmulator, dict[str, str]]]:
    """The emulator and one ``parley serve`` per name, all sharing ``redis_url``."""
    async with AcsEmulator() as emulator, httpx.AsyncClient(timeout=5) as http:
        with_ports = {name: free_port() for name in names}
        bases = {name: f"http://127.0.0.1:{port}" for name, port in with_ports.items()}
        with ExitStack() as stack:
            processes = {
                name: stack.enter_context(
                    parley_serve(name, port, server_env(name, port, redis_url, emulator), logs)
                )
                for name, port in with_ports.items()
            }
            try:
                await asyncio.gather(*(wait_ready(http, bases[n], processes[n]) for n in names))
                yield emulator, bases
            except BaseException:
                for name in names:
                    tail = (logs / f"{name}.log").read_text(errors="replace")[-4000:]
                    print(f"--- instance {name} log (tail) ---\n{tail}")  # noqa: T201
                raise


async def key_turn(emulator: AcsEmulator, call: EmulatedCall, digits: str) -> None:
    """The caller keys ``digits`` and ``#``; returns when the reply has been played."""
    media = call.media
    assert media is not None
    await until_quiet(media)
    before = media.stats.frames_received
    await emulator.press(call, f"{digits}#")
    await until(lambda: media.stats.frames_received > before, what=f"reply to {digits}")
    await until_quiet(media)


async def stored_end_reason(redis_url: str, call_id: str) -> str:
    async with redis_reader(redis_url) as (_log, sessions):
        stored = await sessions.get(call_id)
    status = stored.state.get("status") if stored is not None else None
    return str(status.get("end_reason", "")) if isinstance(status, dict) else ""


async def wait_dropped(redis_url: str, call_id: str) -> None:
    """Until the instance that lost the socket has saved the session's end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while await stored_end_reason(redis_url, call_id) != "remote_closed":
        assert loop.time() < deadline, "the dropped run never saved its session"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("second", ["a", "b"], ids=["same-instance", "other-instance"])
async def test_a_call_resumes_after_its_media_socket_reconnects(
    second: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    names = ("a",) if second == "a" else ("a", "b")
    async with instances(names, redis_server.url, tmp_path) as (emulator, bases):
        call = await emulator.offer_call(f"{bases['a']}/api/acs/events")
        await asyncio.wait_for(call.media_ready.wait(), 10)
        assert call.media is not None and call.media_error is None
        call.media.start_line()
        await until(lambda: call.media.stats.frames_received > 0, what="greeting")
        await key_turn(emulator, call, "42")

        # The socket drops mid-call (the call stays up) and ACS opens a new one.
        await call.media.close(code=1001)
        await wait_dropped(redis_server.url, call.call_connection_id)
        await reconnect(emulator, call, bases[second])
        await key_turn(emulator, call, "7")
        await call.media.close()

        async with redis_reader(redis_server.url) as (log, sessions):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while True:
                entries = [
                    e for e in await log.read(call.call_connection_id) if e.kind != "turn_latency"
                ]
                if sum(e.kind == "assistant" for e in entries) >= 3:
                    break
                assert loop.time() < deadline, f"transcript incomplete: {entries}"
                await asyncio.sleep(0.1)
            stored = await sessions.get(call.call_connection_id)
        kinds = [e.kind for e in entries if e.kind in ("user", "assistant")]
        users = [e.text for e in entries if e.kind == "user"]
        assert kinds == ["assistant", "user", "assistant", "user", "assistant"], entries
        assert users == ["42", "7"]
        greeting = entries[0].text
        assert [e.text for e in entries].count(greeting) == 1
        assert stored is not None
        history = stored.state["history"]
        assert isinstance(history, list)
        spoken = [e.text for e in entries if e.kind in ("user", "assistant")]
        assert [m["text"] for m in history if isinstance(m, dict)] == spoken
        assert stored.state["agent"] == entries[0].agent


async def reconnect(emulator: AcsEmulator, call: EmulatedCall, base: str) -> None:
    """Open a new media socket for the call (its old one closed), to the instance at ``base``."""
    url = str(call.media_options["transportUrl"])
    path = url.split("/", 3)[3]
    client = MediaClient(
        f"ws://{base.removeprefix('http://')}/{path}",
        token=emulator.mint_token(lifetime_s=3600.0),
        call_connection_id=call.call_connection_id,
        correlation_id=call.correlation_id,
        fmt=call.format,
        participant_raw_id=call.caller_raw_id,
    )
    await client.connect()
    call.media = client
    client.start_line()
