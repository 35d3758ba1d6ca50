"""The pages' routes and JSON API over HTTP, on a real uvicorn with every engine faked.

No browser needed: these check what the pages rely on (files served as package data, the
config, the operator key on the console's API, the live-call list fed from the call path).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets

from bootstrap.app import create_app
from bootstrap.settings import all_env_keys
from tests.e2e.server_support import fake_container, fake_settings, serving, start_message

pytestmark = pytest.mark.e2e

KEY = "console-key-for-tests"


@pytest.fixture
def env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in all_env_keys():
        monkeypatch.delenv(key, raising=False)
    return tmp_path / ".env"


async def test_the_pages_and_their_modules_are_served(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with serving(app) as server:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            talk = await http.get("/")
            console = await http.get("/console")
            module = await http.get("/static/talk.js")
            worklet = await http.get("/static/worklets/player.js")
            config = (await http.get("/api/browser/config")).json()
    assert talk.status_code == console.status_code == 200
    assert '<script type="module" src="/static/talk.js">' in talk.text
    assert "javascript" in module.headers["content-type"]
    assert "registerProcessor" in worklet.text
    assert config["token_required"] is True
    assert config["key_required"] is False
    assert config["agents"][0] == "concierge"  # the start agent first


async def test_the_console_api_needs_the_operator_key(env_file: Path) -> None:
    off = create_app(fake_container(fake_settings({}, env_file)))
    with serving(off) as server:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            disabled = await http.get("/api/live-calls", headers={"Authorization": "Bearer x"})
    assert disabled.status_code == 503
    on = create_app(fake_container(fake_settings({"PARLEY_OPERATOR_KEY": KEY}, env_file)))
    with serving(on) as server:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            missing = await http.get("/api/live-calls")
            wrong = await http.get("/api/live-calls", headers={"Authorization": "Bearer no"})
            right = await http.get("/api/live-calls", headers={"Authorization": f"Bearer {KEY}"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert right.status_code == 200
    assert right.json()["calls"] == []


async def test_a_live_browser_call_is_listed_with_its_events_then_shown_ended(
    env_file: Path,
) -> None:
    settings = fake_settings({"PARLEY_OPERATOR_KEY": KEY}, env_file)
    app = create_app(fake_container(settings, ["what is my balance"]))
    auth = {"Authorization": f"Bearer {KEY}"}
    with serving(app) as server:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", headers=auth
        ) as http:
            async with websockets.connect(server.ws_url) as ws:
                await ws.send(start_message())
                started = json.loads(await ws.recv())
                call_id = started["call_id"]
                calls = (await http.get("/api/live-calls")).json()["calls"]
                assert [(c["call_id"], c["live"], c["channel"]) for c in calls] == [
                    (call_id, True, "browser")
                ]
                for _ in range(100):  # the greeting's events arrive as the call runs
                    view = (await http.get(f"/api/live-calls/{call_id}/events")).json()
                    if any(e["type"] == "agent_text" for e in view["events"]):
                        break
                    await asyncio.sleep(0.05)
                assert view["events"][0]["seq"] == 0
                later = (await http.get(f"/api/live-calls/{call_id}/events?after=0")).json()
                assert all(e["seq"] > 0 for e in later["events"])
                bad = await http.get(f"/api/live-calls/{call_id}/events?after=x")
                assert bad.status_code == 400
                await ws.send(json.dumps({"type": "hangup"}))
                async for _ in ws:
                    pass
            for _ in range(100):
                calls = (await http.get("/api/live-calls")).json()["calls"]
                if not calls[0]["live"]:
                    break
                await asyncio.sleep(0.05)
            unknown = await http.get("/api/live-calls/nope/events")
    assert calls[0]["call_id"] == call_id and not calls[0]["live"]
    assert calls[0]["end_reason"]
    assert unknown.status_code == 404


async def test_a_browser_call_may_start_with_another_configured_agent(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with serving(app) as server:
        async with websockets.connect(server.ws_url) as ws:
            start = json.loads(start_message())
            await ws.send(json.dumps({**start, "agent": "fraud"}))
            events = []
            async for message in ws:
                if isinstance(message, str):
                    events.append(json.loads(message))
                    if events[-1]["type"] == "agent_message":
                        break
            await ws.send(json.dumps({"type": "hangup"}))
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({**start, "agent": "nobody"}))
            refusal = json.loads(await ws.recv())
            await ws.wait_closed()
    assert {e.get("agent") for e in events if e["type"] == "agent_message"} == {"fraud"}
    assert refusal["code"] == "bad_start" and "nobody" in refusal["message"]
    assert ws.close_code == 1008
