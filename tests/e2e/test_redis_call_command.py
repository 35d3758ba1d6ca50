"""``PARLEY_STORE=redis parley call``: the demo call (no file) on a real local Redis.

A subprocess runs the real command on the fast offline engines (pocketsphinx, webrtcvad,
espeak-ng, the offline dialog model, no end-of-turn model; the agent speaks at espeak's fastest
rate and the caller at 2x to keep the test short: the store is under test here, the embedded
default in ``test_network_cut.py`` and the demo). The transcript the command prints must be
the one stored in Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from asyncio.subprocess import PIPE, STDOUT
from pathlib import Path

import pytest

from bootstrap.settings import all_env_keys
from tests.fixtures.redis_server import RedisServer

from .acs_support import REPO_ROOT, local_tts_available
from .redis_support import redis_reader

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.slow]


def local_engines_available() -> bool:
    try:
        import adapters.local.stt  # noqa: F401
    except ImportError:
        return False
    return local_tts_available()


@pytest.mark.skipif(not local_engines_available(), reason="offline engines not installed")
async def test_the_demo_call_on_redis_stores_its_transcript_in_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in set(all_env_keys())}
    env.update(
        {
            "PARLEY_STORE": "redis",
            "REDIS_URL": redis_server.url,
            "PARLEY_AGENTS_DIR": str(REPO_ROOT / "agents"),
            "LOCAL_ESPEAK_RATE_WPM": "450",
            "PARLEY_STT": "local",
            "PARLEY_TTS": "local",
            "PARLEY_VAD": "webrtc",
            "PARLEY_TURN": "off",
        }
    )
    out = tmp_path / "call"
    command = [
        str(Path(sys.executable).parent / "parley"),
        "call",
        "--speed",
        "2",
        "--out",
        str(out),
        "--env-file",
        str(tmp_path / "absent.env"),
    ]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=tmp_path, stdout=PIPE, stderr=STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
    printed = json.loads((out / "transcript.json").read_text())
    call_id = printed["call_connection_id"]

    async with redis_reader(redis_server.url) as (log, sessions):
        stored = await log.read(call_id)
        session = await sessions.get(call_id)
    said = [(e.kind, e.text) for e in stored if e.kind in ("user", "assistant")]
    assert said == [
        (e["kind"], e["text"]) for e in printed["transcript"] if e["kind"] in ("user", "assistant")
    ]
    assert any(kind == "user" and text for kind, text in said), "no caller words recognised"
    assert said[0][1].startswith("Thank you for calling Parley Bank")
    assert session is not None
