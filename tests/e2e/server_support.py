"""Helpers for the server end-to-end tests: containers on fakes, uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from dependency_injector import providers
from starlette.applications import Starlette

from adapters.http import DrainingServer
from adapters.http.browser_auth import BrowserTokens
from adapters.http.media_socket import MediaSocketProtocol
from adapters.memory import FakeSpeechToText, FakeTextToSpeech, FakeVadFactory, tone_frames
from bootstrap.containers import ApplicationContainer, build_container
from bootstrap.settings import Settings, load_settings
from ports import PCM16_16K, AudioFrame

REPO = Path(__file__).resolve().parents[2]
TOKEN_SECRET = "test-browser-token-secret-0123456789abcdef"
"""``PARLEY_BROWSER_TOKEN_SECRET`` of :func:`fake_settings`; :func:`start_message` signs with it."""


def fake_settings(env: dict[str, str], env_file: Path) -> Settings:
    """Settings on fakes (with ``env`` on top), from a clean environment."""
    base = {
        "PARLEY_STT": "fake",
        "PARLEY_TTS": "fake",
        "PARLEY_VAD": "fake",
        "PARLEY_LLM": "offline",
        "PARLEY_AGENTS_DIR": str(REPO / "agents"),
        "PARLEY_LOG_LEVEL": "WARNING",
        "PARLEY_BROWSER_TOKEN_SECRET": TOKEN_SECRET,
    }
    base.update(env)
    env_file.write_text("".join(f"{k}={v}\n" for k, v in base.items()))
    return load_settings(env_file)


def fake_container(settings: Settings, utterances: list[str] | None = None) -> ApplicationContainer:
    """A container whose speech ports are scripted fakes."""
    container = build_container(settings)
    container.adapters.stt.override(providers.Object(FakeSpeechToText(utterances or [])))
    container.adapters.tts.override(providers.Object(FakeTextToSpeech(ms_per_char=10.0)))
    container.adapters.vad_factory.override(providers.Object(FakeVadFactory()))
    if settings.providers.pipeline == "realtime":
        # The same scenario in realtime mode: a fake session hearing the same utterances and
        # thinking with the offline dialog model, its audio as fast as the fake TTS's.
        from adapters.memory.realtime import FakeRealtimeModel
        from bootstrap.containers import agents_from_settings, tools_from_settings
        from bootstrap.realtime import dialog_responder

        agents = agents_from_settings(settings, tools_from_settings(settings))
        model = FakeRealtimeModel(
            utterances or [], responder=dialog_responder(agents), ms_per_char=10.0
        )
        container.adapters.realtime.override(providers.Object(model))
    return container


class ServerThread:
    """A real uvicorn (DrainingServer) on 127.0.0.1, port chosen by the OS, in a thread."""

    def __init__(self, app: Starlette, *, drain_timeout_s: float = 5.0) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_config=None,
            lifespan="on",
            ws_max_size=1 << 20,
            ws=MediaSocketProtocol,  # as `parley serve`
        )
        self.server = DrainingServer(
            config, admission=app.state.admission, drain_timeout_s=drain_timeout_s
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/browser"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def serving(app: Starlette, **kwargs: Any) -> Iterator[ServerThread]:
    """Run ``app`` on a real uvicorn for the enclosed block."""
    server = ServerThread(app, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def speech(ms: int) -> list[AudioFrame]:
    """20 ms frames of loud tone (the fakes hear it as speech)."""
    return tone_frames(PCM16_16K, ms, amplitude=6000)


def silence(ms: int) -> list[bytes]:
    """20 ms frames of digital silence."""
    return [bytes(640)] * (ms // 20)


def start_message(rate: int = 16000, token: str | None = None) -> str:
    """A start message with a browser token (signed with :data:`TOKEN_SECRET` by default)."""
    if token is None:
        token = BrowserTokens(TOKEN_SECRET.encode()).issue()
    return json.dumps({"type": "start", "sample_rate_hz": rate, "token": token})


async def fetch_token(port: int) -> str:
    """A browser token from ``POST /api/browser/token`` (loopback: no key needed)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as client:
        response = await client.post("/api/browser/token")
        response.raise_for_status()
        return str(response.json()["token"])
