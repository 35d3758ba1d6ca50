"""A call through the ACS emulator leaves a complete durable record (issue 19).

The server runs in-process on a real uvicorn (``open_stack``), the caller is the local ACS
emulator (real Call Automation SDK, Event Grid, callbacks, media socket and the emulator's
Call Recording), the caller's turns are heard by the scripted speech fake and answered by the
offline dialog model: a balance check (tool), a fraud report (handoff to the fraud agent) and
a request for a person (transfer). Recording is on in both modes: ACS Call Recording and
Parley's own WAV. The record must hold the transcript, tool calls, handoffs, latencies,
outcome, summary and both recording references, in SQLite (the default) and in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from bootstrap.call_command import open_stack
from bootstrap.cli import app
from bootstrap.containers import resolve
from bootstrap.settings import Settings
from ports.call_history import CallRecord

from .acs_support import offline_settings
from .redis_support import caller_turn, scripted_engines, speak_and_wait_for_reply, until

pytestmark = [pytest.mark.e2e]

UTTERANCES = [
    "what is my balance",
    "there is a charge I don't recognize",
    "I want to talk to a person",
]
OPERATOR_KEY = "records-operator-key"


def records_settings(directory: Path, **providers: str) -> Settings:
    base = offline_settings(stt="fake", tts="fake", vad="fake", llm="offline", **providers)
    records = base.records.model_copy(
        update={"dir": directory, "recording": "all", "recording_mode": "both"}
    )
    server = base.server.model_copy(update={"operator_key": SecretStr(OPERATOR_KEY)})
    return dataclasses.replace(base, records=records, server=server)


def complete(record: CallRecord | None) -> bool:
    if record is None or record.header.outcome == "in_progress":
        return False
    if record.summary is None or record.summary.status != "done":
        return False
    states = {r.kind: r.state for r in record.recordings}
    return states == {"acs": "available", "wav": "available"}


async def run_call(settings: Settings) -> tuple[str, CallRecord, dict[str, Any]]:
    """One scripted call; returns its id, its record and the API's view of it."""
    async with open_stack(
        settings, configure=scripted_engines(UTTERANCES), warm_decoders=0
    ) as stack:
        assert stack.container is not None
        records = await resolve(stack.container.records.records)
        call = await stack.emulator.offer_call(stack.events_url)
        await asyncio.wait_for(call.media_ready.wait(), 10)
        media = call.media
        assert media is not None
        media.start_line()
        await until(lambda: media.stats.frames_received > 0, what="greeting audio")
        for _ in UTTERANCES[:-1]:
            await speak_and_wait_for_reply(media, caller_turn())
        await media.speak(caller_turn())
        await until(call.ended.is_set, timeout_s=20, what="the transfer ends the call")
        call_id = call.call_connection_id
        record: CallRecord | None = None
        for _ in range(200):
            record = await records.history.get(call_id)
            if complete(record):
                break
            await asyncio.sleep(0.1)
        assert record is not None and complete(record), record
        async with httpx.AsyncClient(
            base_url=stack.base_url, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}
        ) as http:
            listed = (await http.get("/api/calls", params={"outcome": "transferred"})).json()
            assert [c["call_id"] for c in listed["calls"]] == [call_id]
            view = (await http.get(f"/api/calls/{call_id}")).json()
            unauthorized = await http.get("/api/calls", headers={"Authorization": "Bearer no"})
            assert unauthorized.status_code == 401
            metrics = (await http.get("/metrics")).text
            assert 'parley_write_behind_depth{queue="call_records"}' in metrics
            assert 'parley_write_behind_overflow_total{queue="call_records"} 0.0' in metrics
        return call_id, record, view


def check_record(record: CallRecord, view: dict[str, Any]) -> None:
    header = record.header
    # The caller's leg may close before the disconnect event names the transfer.
    assert header.outcome == "transferred"
    assert header.end_reason in ("transfer", "remote_closed", "CallDisconnected")
    assert header.agents == ("concierge", "fraud")
    assert header.caller == "+14255550100" and header.channel == "acs"
    assert header.user_turns == len(UTTERANCES) and header.ended_at_ms is not None
    assert [line.text for line in record.lines_of("user")] == UTTERANCES
    assert record.lines_of("assistant")[0].text.startswith("Thank you for calling Parley Bank")
    tools = [line.text for line in record.lines_of("tool_call")]
    assert tools[0] == "check_balance" and tools[-1] == "transfer_to_human"
    assert {line.data["name"] for line in record.lines_of("tool")} >= {"check_balance"}
    assert [line.data["to"] for line in record.handoffs()] == ["fraud"]
    latencies = [line.data for line in record.lines_of("turn_latency")]
    assert len(latencies) >= len(UTTERANCES) - 1
    assert all(d.get("voice_to_voice", -1) >= 0 for d in latencies if "voice_to_voice" in d)
    offsets = [line.offset_ms for line in record.lines]
    assert offsets == sorted(offsets) or max(offsets) < header.duration_ms + 1000
    summary = record.summary
    assert summary is not None and summary.source == "template"
    assert summary.disposition == "transferred_to_human"
    assert summary.fields == {"intent": "check_balance", "resolved": False}
    assert "check_balance" in summary.text
    acs = next(r for r in record.recordings if r.kind == "acs")
    assert acs.location.endswith("/content") and acs.server_call_id
    assert acs.data["deleteLocation"]
    wav = next(r for r in record.recordings if r.kind == "wav")
    with wave.open(wav.location) as file:
        assert file.getnchannels() == 2 and file.getnframes() > 0
    # The API returns the same record, with its views.
    assert view["header"]["outcome"] == "transferred"
    assert [t["text"] for t in view["tool_calls"]] == tools
    assert [h["data"]["to"] for h in view["handoffs"]] == ["fraud"]
    assert len(view["latencies"]) == len(latencies)
    assert view["summary"]["disposition"] == "transferred_to_human"


async def test_an_acs_call_leaves_a_complete_record_in_sqlite(tmp_path: Path) -> None:
    settings = records_settings(tmp_path / "records")
    call_id, record, view = await run_call(settings)
    check_record(record, view)
    # The CLI reads the same file after the server has stopped.
    env = {"PARLEY_RECORDS_DIR": str(tmp_path / "records")}
    absent = str(tmp_path / "absent.env")

    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, [*args, "--env-file", absent], env=env)

    shown = await asyncio.to_thread(cli, "calls", "show", call_id, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["header"]["call_id"] == call_id
    exported = await asyncio.to_thread(cli, "calls", "export", "--format", "csv")
    assert exported.exit_code == 0, exported.output
    rows = exported.stdout.splitlines()
    assert rows[0].startswith("call_id,started_at") and call_id in rows[1]
    assert "transferred_to_human" in rows[1] and "check_balance" in rows[1]


@pytest.mark.postgres
async def test_an_acs_call_leaves_a_complete_record_in_postgres(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = records_settings(tmp_path / "records", call_records="postgres")
    settings = dataclasses.replace(
        settings, postgres=settings.postgres.model_copy(update={"url": SecretStr(postgres_url)})
    )
    call_id, record, view = await run_call(settings)
    check_record(record, view)
    # What the server wrote is in the database itself, read by a fresh store.
    from adapters.postgres import PostgresCallHistory

    fresh = PostgresCallHistory(postgres_url)
    await fresh.open()
    try:
        stored = await fresh.get(call_id)
    finally:
        await fresh.aclose()
    assert stored == record


@pytest.mark.postgres
async def test_a_call_goes_on_while_postgres_is_down_and_its_record_lands_when_it_returns(
    tmp_path: Path, postgres_server_process: Any
) -> None:
    server = postgres_server_process
    url = server.create_database()
    settings = records_settings(tmp_path / "records", call_records="postgres")
    settings = dataclasses.replace(
        settings,
        records=settings.records.model_copy(update={"recording": "off", "timeout_ms": 300.0}),
        postgres=settings.postgres.model_copy(update={"url": SecretStr(url)}),
        server=settings.server.model_copy(update={"ready_timeout_s": 1.0}),
    )
    try:
        async with open_stack(
            settings, configure=scripted_engines(UTTERANCES), warm_decoders=0
        ) as stack:
            assert stack.container is not None
            records = await resolve(stack.container.records.records)
            call = await stack.emulator.offer_call(stack.events_url)
            await asyncio.wait_for(call.media_ready.wait(), 10)
            media = call.media
            assert media is not None
            media.start_line()
            await until(lambda: media.stats.frames_received > 0, what="greeting audio")
            await speak_and_wait_for_reply(media, caller_turn())
            # A clean stop: the test server runs without fsync, so a crash could lose commits.
            await asyncio.to_thread(server.stop, "fast")
            # The database is gone: the caller is still heard and answered...
            await speak_and_wait_for_reply(media, caller_turn())
            async with httpx.AsyncClient(base_url=stack.base_url) as http:
                ready = await http.get("/ready")
            # ...and /ready names the store.
            assert ready.status_code == 503
            assert any(f.startswith("call_records") for f in ready.json()["failed"])
            await until(lambda: records.history.depth > 0, what="record writes queued")
            await asyncio.to_thread(server.start)
            await media.speak(caller_turn())
            await until(call.ended.is_set, timeout_s=20, what="the transfer ends the call")
            assert await records.recorder.flush(timeout_s=10)
            assert await records.jobs.join(timeout_s=30)
            assert await records.history.flush(timeout_s=30)
            assert records.history.overflowed == 0
    finally:
        if not Path(server.data_dir / "postmaster.pid").exists():
            await asyncio.to_thread(server.start)
    from adapters.postgres import PostgresCallHistory

    fresh = PostgresCallHistory(url)
    await fresh.open()
    try:
        stored = await fresh.get(call.call_connection_id)
    finally:
        await fresh.aclose()
    assert stored is not None and stored.header.outcome == "transferred"
    assert [line.text for line in stored.lines_of("user")] == UTTERANCES
    assert stored.summary is not None and stored.summary.status == "done"
