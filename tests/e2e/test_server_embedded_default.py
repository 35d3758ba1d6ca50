"""``parley serve``'s embedded default answers the browser protocol: Whisper, Piper, Silero VAD,
Smart Turn, the offline dialog model and memory stores, on a real uvicorn, from an empty .env.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from adapters.local.tts import EspeakTextToSpeech
from bootstrap.app import create_app
from bootstrap.containers import build_container
from bootstrap.settings import all_env_keys, load_settings
from ports import PCM16_16K, Voice
from tests.e2e.server_support import REPO, fetch_token, serving, start_message
from tests.e2e.test_server_ws import Client

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def spoken(text: str) -> bytes:
    pcm = b""
    async for chunk in EspeakTextToSpeech(rate_wpm=150).synthesize(
        text, voice=Voice(name="en-us"), fmt=PCM16_16K
    ):
        pcm += chunk.audio.data
    return pcm


async def test_the_embedded_default_holds_a_spoken_turn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in all_env_keys():
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(REPO)  # the default PARLEY_AGENTS_DIR is ./agents
    (tmp_path / ".env").write_text("")
    settings = load_settings(tmp_path / ".env")
    chosen = settings.providers
    assert (chosen.stt, chosen.tts, chosen.llm, chosen.vad, chosen.turn) == (
        "whisper",
        "piper",
        "offline",
        "silero",
        "smart_turn",
    )
    pcm = await spoken("What is my balance?")
    frames = [pcm[i : i + 640].ljust(640, b"\0") for i in range(0, len(pcm), 640)]
    app = create_app(build_container(settings))
    with serving(app) as server:
        token = await fetch_token(server.port)
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(start_message(token=token))
            client = Client(ws)
            # Let the greeting finish: barge-in on the embedded default is another test's job.
            await client.wait_for("agent_message", timeout_s=20)
            greeting_audio = client.audio_bytes
            await client.send_frames(frames + [bytes(640)] * 60)
            final = await client.wait_for("transcript", final=True, timeout_s=15)
            index = client.events.index(final)
            await asyncio.sleep(1.5)
            await ws.send(json.dumps({"type": "hangup"}))
            await client.finish(timeout_s=15)
    assert greeting_audio > 32000 * 3  # seconds of espeak audio, paced out in real time
    assert final["text"].strip()
    assert any(e["type"] == "agent_text" for e in client.events[index + 1 :]), json.dumps(
        client.events
    )
    assert client.events[-1]["type"] == "call_ended"
