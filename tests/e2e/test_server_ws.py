"""The browser WebSocket protocol on a real uvicorn (127.0.0.1), with every engine faked.

The call runtime, the domain, the offline dialog model, the bank tools and the HTTP adapter
are real; speech-to-text, text-to-speech and VAD are scripted fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from dependency_injector import providers
from websockets.asyncio.client import ClientConnection

from adapters.memory import FakeVadFactory
from bootstrap.app import create_app
from bootstrap.settings import all_env_keys
from ports import AudioFormat, AudioFrame
from tests.e2e.server_support import (
    REPO,
    fake_container,
    fake_settings,
    serving,
    silence,
    speech,
    start_message,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in all_env_keys():
        monkeypatch.delenv(key, raising=False)
    return tmp_path / ".env"


class Client:
    """Collects what the server sends on one browser call."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.audio_bytes = 0
        self.audio_after: dict[int, int] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    self.audio_bytes += len(message)
                else:
                    self.events.append(json.loads(message))
                    self.audio_after[len(self.events) - 1] = self.audio_bytes
        except websockets.ConnectionClosed:
            pass

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def first(self, kind: str, **match: Any) -> int:
        for i, event in enumerate(self.events):
            if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                return i
        raise AssertionError(f"no {kind} {match} in {self.events}")

    async def wait_for(self, kind: str, timeout_s: float = 5.0, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in self.events:
                if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                    return event
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {kind} {match} within {timeout_s} s: {self.events}")

    async def send_frames(self, frames: list[bytes]) -> None:
        for frame in frames:
            await self.ws.send(frame)
            await asyncio.sleep(0.02)

    async def finish(self, timeout_s: float = 5.0) -> None:
        await asyncio.wait_for(self._reader, timeout_s)


@pytest.mark.parametrize("pipeline", ["cascade", "realtime"])
async def test_a_whole_browser_call_on_fakes(env_file: Path, pipeline: str) -> None:
    # The same scenario passes unchanged with PARLEY_PIPELINE=realtime (issue 14).
    settings = fake_settings({"PARLEY_PIPELINE": pipeline, "PARLEY_REALTIME": "fake"}, env_file)
    container = fake_container(settings, ["what is my balance"])
    app = create_app(container)
    with serving(app) as server:
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(start_message())
            client = Client(ws)
            await client.wait_for("agent_text")  # the greeting
            await asyncio.sleep(0.3)
            await client.send_frames([f.data for f in speech(800)])
            await client.send_frames(silence(800))
            await client.wait_for("agent_message", interrupted=False, timeout_s=8)
            await ws.send(json.dumps({"type": "hangup"}))
            await client.finish()
            close_code = ws.close_code
        metrics = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text

    events = client.events
    assert events[0]["type"] == "started"
    assert events[0]["sample_rate_hz"] == 16000
    greeting = client.first("agent_text")
    assert events[greeting]["text"].startswith("Thank you for calling Parley Bank")
    barge_in = client.first("stop_audio")
    assert greeting < barge_in
    assert client.audio_after[barge_in] > 0  # greeting audio was flowing
    interrupted = client.first("agent_message", interrupted=True)
    assert "Thank you for calling" in events[interrupted]["text"]
    final = client.first("transcript", final=True)
    assert events[final]["text"] == "what is my balance"
    assert client.first("transcript", final=False) < final
    tool = client.first("tool_call", name="check_balance")
    answer = client.first("agent_text", text="Your checking balance is 2,450.75 dollars.")
    assert final < tool < answer
    assert client.audio_bytes > client.audio_after[answer]  # the answer was spoken
    assert events[-1] == {"type": "call_ended", "reason": "remote_hangup", "agent": "concierge"}
    assert close_code == 1000
    assert "parley_barge_ins_total 1.0" in metrics
    assert "parley_active_calls 0.0" in metrics
    assert "parley_frames_in_total" in metrics and "parley_frames_in_total 0.0" not in metrics


async def test_a_bad_start_message_is_refused_with_1008(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with serving(app) as server:
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "start", "sample_rate_hz": 11025}))
            error = json.loads(await ws.recv())
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
    assert error["code"] == "bad_start"
    assert "sample_rate_hz" in error["message"]
    assert ws.close_code == 1008


async def test_oversized_and_odd_messages_are_dropped_and_counted_and_the_call_goes_on(
    env_file: Path,
) -> None:
    settings = fake_settings({"PARLEY_MAX_MESSAGE_BYTES": "2048"}, env_file)
    app = create_app(fake_container(settings, ["what is my balance"]))
    with serving(app) as server:
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(start_message())
            client = Client(ws)
            await client.wait_for("agent_text")
            await ws.send(bytes(4096))
            await ws.send(bytes(641))
            await ws.send("{not json")
            await client.wait_for("error", code="too_large")
            await client.wait_for("error", code="odd_length")
            await client.wait_for("error", code="bad_message")
            await client.send_frames([f.data for f in speech(600)])
            await client.send_frames(silence(700))
            await client.wait_for("transcript", final=True, text="what is my balance")
            await ws.send(json.dumps({"type": "hangup"}))
            await client.finish()
        metrics = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    for reason in ("too_large", "odd_length", "bad_message"):
        assert f'parley_frames_dropped_total{{reason="{reason}"}} 1.0' in metrics


async def test_calls_beyond_the_limit_are_refused_with_1013_and_a_reason(env_file: Path) -> None:
    settings = fake_settings({"PARLEY_MAX_CONCURRENT_CALLS": "1"}, env_file)
    app = create_app(fake_container(settings))
    with serving(app) as server:
        async with websockets.connect(server.ws_url) as first:
            await first.send(start_message())
            assert json.loads(await first.recv())["type"] == "started"
            async with websockets.connect(server.ws_url) as second:
                # Refused as it connects, before any start message.
                refusal = json.loads(await second.recv())
                with pytest.raises(websockets.ConnectionClosed):
                    await second.recv()
            assert second.close_code == 1013
            assert second.close_reason == "server busy: 1 of 1 calls in progress"
            assert refusal["code"] == "busy"
            await first.send(json.dumps({"type": "hangup"}))
        # once the first call ended, a new one is admitted
        await asyncio.sleep(0.3)
        async with websockets.connect(server.ws_url) as third:
            await third.send(start_message())
            assert json.loads(await third.recv())["type"] == "started"
        metrics = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
    assert 'parley_calls_refused_total{reason="busy"} 1.0' in metrics


async def test_an_idle_client_is_disconnected(env_file: Path) -> None:
    settings = fake_settings({"PARLEY_IDLE_TIMEOUT_S": "0.5"}, env_file)
    app = create_app(fake_container(settings))
    with serving(app) as server:
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(start_message())
            client = Client(ws)
            started = time.monotonic()
            await client.finish(timeout_s=10)
            waited = time.monotonic() - started
    assert client.events[-1]["type"] == "call_ended"
    assert waited < 5


async def test_sigterm_drains_a_live_call_then_stops(env_file: Path) -> None:
    settings = fake_settings({"PARLEY_DRAIN_TIMEOUT_S": "20"}, env_file)
    app = create_app(fake_container(settings))
    with serving(app, drain_timeout_s=20) as server:
        async with websockets.connect(server.ws_url) as live:
            await live.send(start_message())
            client = Client(live)
            await client.wait_for("started")
            server.server.handle_exit(signal.SIGTERM, None)
            await asyncio.sleep(0.3)
            ready = httpx.get(f"http://127.0.0.1:{server.port}/ready")
            async with websockets.connect(server.ws_url) as late:
                # Refused as it connects, before any start message.
                refusal = json.loads(await late.recv())
                with pytest.raises(websockets.ConnectionClosed):
                    await late.recv()
            # the live call still works during the drain
            await live.send(json.dumps({"type": "dtmf", "digit": "5"}))
            await asyncio.sleep(0.2)
            assert server.thread.is_alive()
            await live.send(json.dumps({"type": "hangup"}))
            await client.finish()
        server.thread.join(timeout=5)
        stopped = not server.thread.is_alive()
    assert ready.status_code == 503
    assert ready.json()["status"] == "draining"
    assert late.close_code == 1013
    assert refusal["code"] == "draining"
    assert client.events[-1]["type"] == "call_ended"
    assert live.close_code == 1000
    assert stopped


async def test_a_call_outliving_the_drain_timeout_is_closed(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with serving(app, drain_timeout_s=0.5) as server:
        async with websockets.connect(server.ws_url) as live:
            await live.send(start_message())
            client = Client(live)
            await client.wait_for("started")
            began = time.monotonic()
            server.server.handle_exit(signal.SIGTERM, None)
            await client.finish(timeout_s=10)
            took = time.monotonic() - began
        server.thread.join(timeout=5)
        stopped = not server.thread.is_alive()
    assert 0.4 < took < 5
    assert stopped


async def test_a_browser_call_outliving_the_drain_gets_call_ended_before_the_close(
    env_file: Path,
) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with serving(app, drain_timeout_s=0.5) as server:
        async with websockets.connect(server.ws_url) as live:
            await live.send(start_message())
            client = Client(live)
            await client.wait_for("started")
            server.server.handle_exit(signal.SIGTERM, None)
            await client.finish(timeout_s=10)
            close_code = live.close_code
        server.thread.join(timeout=5)
    assert client.events[-1] == {"type": "call_ended", "reason": "server_draining"}
    assert close_code == 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_parley_serve_drains_a_live_call_on_a_real_sigterm(
    env_file: Path, tmp_path: Path
) -> None:
    port = free_port()
    fake_settings({"PARLEY_PORT": str(port), "PARLEY_LOG_LEVEL": "INFO"}, env_file)
    log_path = tmp_path / "serve.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", "from bootstrap.cli import main; main()", "serve",
         "--env-file", str(env_file)],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/browser") as live:
                await live.send(start_message())
                client = Client(live)
                await client.wait_for("started")
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                ready = await http.get(f"http://127.0.0.1:{port}/ready")
                assert process.poll() is None  # still serving the live call
                await live.send(json.dumps({"type": "hangup"}))
                await client.finish()
        returncode = await asyncio.to_thread(process.wait, 10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    output = log_path.read_text()
    assert ready.status_code == 503
    assert client.events[-1]["type"] == "call_ended"
    assert returncode in (0, -signal.SIGTERM)
    assert "draining 1 live call(s)" in output
    assert "drain complete" in output


class FrameRecordingVad:
    """A VAD factory that records the duration of every frame the runtime scores."""

    def __init__(self) -> None:
        self.inner = FakeVadFactory()
        self.durations: list[float] = []

    def __call__(self, fmt: AudioFormat) -> FrameRecordingVad:
        self.detector = self.inner(fmt)
        return self

    def speech_probability(self, frame: AudioFrame) -> float:
        self.durations.append(frame.duration_ms)
        return self.detector.speech_probability(frame)


async def test_audio_of_any_chunk_size_reaches_the_runtime_as_20_ms_frames(
    env_file: Path,
) -> None:
    container = fake_container(fake_settings({}, env_file), ["what is my balance"])
    vad = FrameRecordingVad()
    container.adapters.vad_factory.override(providers.Object(vad))
    app = create_app(container)
    audio = b"".join(f.data for f in speech(800)) + b"".join(silence(800))
    chunks = [audio[i : i + 3210] for i in range(0, len(audio), 3210)]  # ~100 ms, odd sizes
    with serving(app) as server:
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(start_message())
            client = Client(ws)
            await client.wait_for("agent_text")
            for chunk in chunks:
                await ws.send(chunk[: len(chunk) // 2 * 2])
                await asyncio.sleep(0.1)
            await client.wait_for("transcript", final=True, text="what is my balance")
            await ws.send(json.dumps({"type": "hangup"}))
            await client.finish()
    assert set(vad.durations) == {20.0}
    assert len(vad.durations) >= 70
