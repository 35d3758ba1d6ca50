"""``/ws/browser`` needs a browser token and can be switched off (issue 12, item 4).

A real ``create_app`` on a real uvicorn (127.0.0.1) with every engine faked.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from adapters.http.browser import CLOSE_UNAUTHORIZED
from adapters.http.browser_auth import BrowserTokens
from bootstrap.app import create_app
from bootstrap.settings import SettingsError
from tests.e2e.server_support import (
    TOKEN_SECRET,
    fake_container,
    fake_settings,
    serving,
    start_message,
)

pytestmark = pytest.mark.e2e


async def _refusal(url: str, message: str) -> tuple[int | None, str, dict[str, object]]:
    async with websockets.connect(url) as ws:
        await ws.send(message)
        error = json.loads(await ws.recv())
        await ws.wait_closed()
        return ws.close_code, ws.close_reason, error


def _start(token: str | None) -> str:
    body: dict[str, object] = {"type": "start", "sample_rate_hz": 16000}
    if token is not None:
        body["token"] = token
    return json.dumps(body)


async def test_no_wrong_or_expired_tokens_are_closed_with_4401_and_a_good_one_passes(
    env_file: Path,
) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    expired = BrowserTokens(TOKEN_SECRET.encode(), ttl_s=60, clock=lambda: 1_000_000.0).issue()
    forged = BrowserTokens(b"another-secret-of-at-least-32-bytes!!").issue()
    with serving(app) as server:
        for token, code in ((None, "token_missing"), ("junk", "token_invalid"),
                            (forged, "token_invalid"), (expired, "token_expired")):  # fmt: skip
            close_code, reason, error = await _refusal(server.ws_url, _start(token))
            assert close_code == CLOSE_UNAUTHORIZED, token
            assert error["code"] == code
            assert reason
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(start_message())
            started = json.loads(await ws.recv())
            assert started["type"] == "started"
            await ws.send(json.dumps({"type": "hangup"}))


async def test_the_token_endpoint_needs_the_browser_key_when_one_is_set(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({"PARLEY_BROWSER_KEY": "let-me-talk"}, env_file)))
    with serving(app) as server:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            refused = await http.post("/api/browser/token")
            wrong = await http.post("/api/browser/token", headers={"Authorization": "Bearer nope"})
            issued = await http.post(
                "/api/browser/token", headers={"Authorization": "Bearer let-me-talk"}
            )
        assert refused.status_code == wrong.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert issued.status_code == 200
        token = issued.json()["token"]
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(_start(token))
            assert json.loads(await ws.recv())["type"] == "started"
            await ws.send(json.dumps({"type": "hangup"}))


async def test_a_loopback_page_gets_a_token_without_a_key(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with serving(app) as server:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            issued = await http.post("/api/browser/token")
        assert issued.status_code == 200
        BrowserTokens(TOKEN_SECRET.encode()).verify(issued.json()["token"])


async def test_a_disabled_browser_endpoint_answers_403_and_hides_its_pages(
    env_file: Path,
) -> None:
    app = create_app(fake_container(fake_settings({"PARLEY_BROWSER_ENABLED": "false"}, env_file)))
    with serving(app) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(server.ws_url):
                pass
        assert refused.value.response.status_code == 403
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            assert (await http.get("/")).status_code == 404
            assert (await http.post("/api/browser/token")).status_code == 404


async def test_the_browser_is_off_by_default_when_acs_is_configured(env_file: Path) -> None:
    from bootstrap.browser import browser_access

    settings = fake_settings(
        {
            "ACS_CONNECTION_STRING": "endpoint=https://x.communication.azure.com/;accesskey=a2V5",
            "ACS_RESOURCE_ID": "00000000-0000-0000-0000-000000000001",
        },
        env_file,
    )
    assert not browser_access(settings).enabled
    assert browser_access(fake_settings({}, env_file)).enabled
    forced = fake_settings(
        {
            "ACS_CONNECTION_STRING": "endpoint=https://x.communication.azure.com/;accesskey=a2V5",
            "ACS_RESOURCE_ID": "00000000-0000-0000-0000-000000000001",
            "PARLEY_BROWSER_ENABLED": "true",
        },
        env_file,
    )
    assert browser_access(forced).enabled


def test_a_short_token_secret_fails_at_start_naming_the_key(env_file: Path) -> None:
    with pytest.raises(SettingsError, match="PARLEY_BROWSER_TOKEN_SECRET"):
        fake_settings({"PARLEY_BROWSER_TOKEN_SECRET": "short"}, env_file)
