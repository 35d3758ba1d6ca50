"""GET /api/calls/{id}/call.html: operators only, 404 for an unknown call, the page otherwise."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from adapters.http.call_picture import call_picture_route


async def render(call_id: str) -> str:
    if call_id != "c1":
        raise KeyError(call_id)
    return "<html><body>call c1</body></html>"


def client(key: str | None) -> httpx.AsyncClient:
    app = Starlette(routes=[call_picture_route(render, key)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_the_page_needs_the_operator_bearer_key():
    async with client("k-1") as http:
        missing = await http.get("/api/calls/c1/call.html")
        wrong = await http.get("/api/calls/c1/call.html", headers={"Authorization": "Bearer x"})
        good = await http.get("/api/calls/c1/call.html", headers={"Authorization": "Bearer k-1"})
        unknown = await http.get("/api/calls/zz/call.html", headers={"Authorization": "Bearer k-1"})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert good.status_code == 200 and "call c1" in good.text
    assert "default-src 'none'" in good.headers["content-security-policy"]
    assert unknown.status_code == 404


async def test_without_an_operator_key_the_page_is_unavailable():
    async with client(None) as http:
        response = await http.get("/api/calls/c1/call.html", headers={"Authorization": "Bearer"})
    assert response.status_code == 503
