"""The ACS boundary of a real ``parley serve`` (issue 12 items 7 and 8).

``parley serve`` runs as a subprocess on 127.0.0.1 (fake engines, memory store), the local ACS
emulator (in this test process) plays ACS with signed JWTs and the webhook key. Every loop is
bounded and every process is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from adapters.acs_emulator.media_client import MediaClient
from adapters.acs_emulator.server import AcsEmulator, EmulatedCall, free_port
from bootstrap.settings import all_env_keys
from ports import PCM16_16K

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PARLEY = str(Path(sys.executable).parent / "parley")
WEBHOOK_KEY = "reliability-webhook-key"


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for: {what}"
        await asyncio.sleep(0.02)


@dataclass
class Served:
    emulator: AcsEmulator
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    http: httpx.AsyncClient

    @property
    def events_url(self) -> str:
        return f"{self.base}/api/acs/events?code={WEBHOOK_KEY}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def parley_serve(tmp_path: Path, **env_extra: str) -> AsyncIterator[Served]:
    async with AcsEmulator() as emulator, httpx.AsyncClient(timeout=5) as http:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in set(all_env_keys())}
        env.update(
            {
                "PARLEY_STT": "fake",
                "PARLEY_TTS": "fake",
                "PARLEY_LLM": "fake",
                "PARLEY_VAD": "fake",
                "PARLEY_AGENTS_DIR": str(REPO / "agents"),
                "PARLEY_LOG_LEVEL": "INFO",
                "ACS_CONNECTION_STRING": emulator.connection_string,
                "ACS_CALLBACK_BASE_URL": f"http://127.0.0.1:{port}",
                "ACS_RESOURCE_ID": emulator.resource_id,
                "ACS_OPENID_CONFIG_URL": emulator.openid_config_url,
                "ACS_VERIFY_TOKENS": "true",
                "ACS_ENFORCE_HTTPS": "false",
                "ACS_WEBHOOK_KEY": WEBHOOK_KEY,
                **env_extra,
            }
        )
        log = tmp_path / "serve.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(  # noqa: S603 (our own console script)
                [PARLEY, "serve", "--port", str(port), "--env-file", str(tmp_path / "absent.env")],
                env=env,
                cwd=tmp_path,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
            served = Served(emulator, f"http://127.0.0.1:{port}", process, log, http)
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 30
                while True:
                    assert process.poll() is None, f"parley serve exited:\n{served.output()}"
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get(f"{served.base}/ready")).status_code == 200:
                            break
                    assert loop.time() < deadline, f"not ready in 30 s:\n{served.output()}"
                    await asyncio.sleep(0.1)
                yield served
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.to_thread(process.wait, 15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(timeout=5)


async def connected(served: Served) -> EmulatedCall:
    call = await served.emulator.offer_call(served.events_url)
    await asyncio.wait_for(call.media_ready.wait(), 15)
    assert call.media is not None and call.media_error is None, call.media_error
    return call


async def test_a_debug_run_of_a_call_never_logs_the_media_jwt_or_the_call_token(
    tmp_path: Path,
) -> None:
    async with parley_serve(tmp_path, PARLEY_LOG_LEVEL="DEBUG") as served:
        call = await connected(served)
        assert call.media is not None
        call.media.start_line()
        await until(
            lambda: call.media is not None and call.media.stats.frames_received > 0, "audio"
        )
        await served.emulator.hang_up(call)
        await until(call.ended.is_set, "call ended")
        await asyncio.sleep(0.3)
        output = served.output()
    token = str(call.media_options["transportUrl"]).split("call_token=", 1)[1]
    # The run really was at DEBUG and really saw the upgrade (else the test proves nothing).
    assert " DEBUG " in output
    assert "/ws/acs/media" in output
    assert not re.search(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.", output)
    assert not re.search(r"(?i)authorization\W+bearer\s+\w", output)
    assert token not in output
    assert WEBHOOK_KEY not in output


async def test_while_draining_incoming_calls_get_503_and_a_call_outliving_the_drain_is_hung_up(
    tmp_path: Path,
) -> None:
    async with parley_serve(tmp_path, PARLEY_DRAIN_TIMEOUT_S="1.5") as served:
        live = await connected(served)
        assert live.media is not None
        live.media.start_line()  # the caller's line stays open: the call outlives the drain
        served.process.send_signal(signal.SIGTERM)
        await until(lambda: "draining 1 live call" in served.output(), "the server began draining")
        with pytest.raises(RuntimeError, match="HTTP 503"):  # Event Grid retries elsewhere
            await served.emulator.offer_call(served.events_url, answer_timeout_s=1)
        assert "IncomingCall(s) refused: draining" in served.output()
        await until(lambda: bool(live.hang_ups), "the live call hung up through Call Automation")
        returncode = await asyncio.to_thread(served.process.wait, 15)
    assert live.hang_ups == ["terminate"]
    assert returncode in (0, -signal.SIGTERM)


async def test_parley_serve_closes_200_slowloris_connections_and_keeps_serving(
    tmp_path: Path,
) -> None:
    async with parley_serve(tmp_path) as served:
        port = int(served.base.rsplit(":", 1)[1])
        held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            for _ in range(200):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"POST /api/acs/events HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                held.append((reader, writer))
            # Every one is closed by the server (EOF) within the default 10 s header deadline.
            async with asyncio.timeout(30):
                for reader, _ in held:
                    assert await reader.read() == b""
            assert (await served.http.get(f"{served.base}/health")).status_code == 200
        finally:
            for _, writer in held:
                writer.close()


async def test_parley_serve_refuses_a_second_media_socket_and_counts_it(tmp_path: Path) -> None:
    async with parley_serve(tmp_path) as served:
        call = await connected(served)
        second = MediaClient(
            str(call.media_options["transportUrl"]),
            token=served.emulator.mint_token(),
            call_connection_id=call.call_connection_id,
            correlation_id=call.correlation_id,
            fmt=PCM16_16K,
        )
        await second.connect()
        await asyncio.wait_for(second.closed.wait(), 10)
        metrics = (await served.http.get(f"{served.base}/metrics")).text
        await served.emulator.hang_up(call)
    assert (second.close_code, second.close_reason) == (1008, "call already has a media stream")
    assert 'parley_calls_refused_total{reason="duplicate_media"} 1.0' in metrics
