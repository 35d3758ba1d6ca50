"""GET/DELETE /api/calls: operators only, filters, errors naming the parameter, the WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import httpx
from starlette.applications import Starlette

from adapters.http.call_history_api import call_history_routes, parse_time_ms
from adapters.memory.call_history import MemoryCallHistory
from ports import StoreUnavailableError
from ports.call_history import CallHeader, RecordingRef, RecordLine

T0 = 1_760_000_000_000
KEY = {"Authorization": "Bearer k-1"}


def client(
    history: MemoryCallHistory, key: str | None = "k-1", recordings: Path | None = None
) -> httpx.AsyncClient:
    routes = call_history_routes(
        history, key, caller_key=lambda c: f"h:{c}", recordings_dir=recordings
    )
    app = Starlette(routes=routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def filled() -> MemoryCallHistory:
    history = MemoryCallHistory()
    await history.save_call(CallHeader("a", T0, "acs", "h:+1", outcome="resolved", agents=("x",)))
    await history.save_call(CallHeader("b", T0 + 5, "acs", "h:+2", outcome="transferred"))
    await history.append_lines("b", [RecordLine(0, "tool_call", "lock_card", 10.0)])
    return history


async def test_records_need_the_operator_key() -> None:
    history = await filled()
    async with client(history) as http:
        assert (await http.get("/api/calls")).status_code == 401
        assert (
            await http.get("/api/calls/a", headers={"Authorization": "Bearer no"})
        ).status_code == 401
        assert (await http.delete("/api/calls/a")).status_code == 401
    async with client(history, key=None) as http:
        assert (await http.get("/api/calls", headers=KEY)).status_code == 503
    assert await history.get("a") is not None


async def test_the_list_filters_and_the_caller_is_matched_in_its_stored_form() -> None:
    async with client(await filled()) as http:
        every = (await http.get("/api/calls", headers=KEY)).json()
        by_caller = (await http.get("/api/calls?caller=%2B1", headers=KEY)).json()
        window = (await http.get(f"/api/calls?from={T0 + 1}&limit=5", headers=KEY)).json()
        agent = (await http.get("/api/calls?agent=x", headers=KEY)).json()
    assert [c["call_id"] for c in every["calls"]] == ["b", "a"]
    assert [c["call_id"] for c in by_caller["calls"]] == ["a"]
    assert [c["call_id"] for c in window["calls"]] == ["b"] and window["limit"] == 5
    assert agent["calls"][0]["agents"] == ["x"]


async def test_a_bad_parameter_is_a_400_naming_it() -> None:
    async with client(await filled()) as http:
        when = await http.get("/api/calls?from=yesterday", headers=KEY)
        limit = await http.get("/api/calls?limit=5000", headers=KEY)
    assert when.status_code == 400 and "from/to" in when.json()["detail"]
    assert limit.status_code == 400 and "limit" in limit.json()["detail"]


async def test_a_record_is_returned_with_its_views_and_can_be_erased() -> None:
    history = await filled()
    async with client(history) as http:
        record = (await http.get("/api/calls/b", headers=KEY)).json()
        missing = await http.get("/api/calls/zz", headers=KEY)
        erased = await http.delete("/api/calls/b", headers=KEY)
        again = await http.delete("/api/calls/b", headers=KEY)
    assert record["header"]["outcome"] == "transferred"
    assert [t["text"] for t in record["tool_calls"]] == ["lock_card"]
    assert record["summary"] is None and missing.status_code == 404
    assert (erased.status_code, again.status_code) == (204, 404)
    assert await history.get("b") is None


async def test_a_down_store_is_a_503() -> None:
    history = MemoryCallHistory(fail_with=StoreUnavailableError("down"))
    async with client(history) as http:
        response = await http.get("/api/calls", headers=KEY)
    assert response.status_code == 503 and response.json() == {"error": "store_unavailable"}


async def test_the_own_recording_is_served_as_a_wav(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as file:
        file.setnchannels(2)
        file.setsampwidth(2)
        file.setframerate(16000)
        file.writeframes(bytes(640))
    history = await filled()
    await history.save_recording("a", RecordingRef("wav", "a.wav", "available", str(path)))
    async with client(history, recordings=tmp_path) as http:
        found = await http.get("/api/calls/a/recording", headers=KEY)
        none = await http.get("/api/calls/b/recording", headers=KEY)
    assert found.status_code == 200 and found.headers["content-type"] == "audio/wav"
    assert found.content == path.read_bytes() and none.status_code == 404
    async with client(history, recordings=tmp_path / "elsewhere") as http:
        outside = await http.get("/api/calls/a/recording", headers=KEY)
    assert outside.status_code == 404  # a location outside the recordings folder is never served


def test_times_are_iso_or_epoch_ms() -> None:
    assert parse_time_ms("1760000000000") == T0
    assert parse_time_ms("2025-10-09T08:53:20Z") == T0
    assert parse_time_ms("2025-10-09T08:53:20") == T0
