"""``parley calls list|show|export|delete``: the durable call records from the command line.

Reads the store ``PARLEY_CALL_RECORDS`` names (the SQLite file in ``PARLEY_RECORDS_DIR`` or
PostgreSQL at ``POSTGRES_URL``) directly, so it works with or without a running server (SQLite
is in WAL mode: reading never blocks the server's writes). Filters are the API's
(``--from``/``--to`` as ISO 8601 or Unix epoch ms, ``--agent``, ``--outcome``, ``--caller``
given as dialled: it is masked or hashed as the records are). ``export`` writes JSON Lines
(one :func:`adapters.http.call_history_api.record_json` object per call) or CSV
(:data:`bootstrap.call_records_views.CSV_COLUMNS`). ``delete`` erases a record and its WAV
(data-protection requests; an ACS recording is deleted by the server's retention or its API).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.table import Table

from adapters.http.call_history_api import header_json, query_from, record_json
from bootstrap.call_records import RECORDINGS_FOLDER, SQLITE_FILE, privacy_policy
from bootstrap.call_records_views import CSV_COLUMNS, csv_row, iso_time
from bootstrap.settings import Settings, SettingsError, load_settings
from ports import StoreError
from ports.call_history import CallHistory, CallQuery, CallRecord

calls_app = typer.Typer(
    name="calls",
    help="Durable call records: list, show, export (JSON Lines or CSV), delete.",
    no_args_is_help=True,
)

EnvFile = Annotated[Path, typer.Option("--env-file", help="dotenv file to read (missing is fine).")]
From = Annotated[str | None, typer.Option("--from", help="Started at or after (ISO 8601 or ms).")]
To = Annotated[str | None, typer.Option("--to", help="Started before (ISO 8601 or ms).")]
Agent = Annotated[str | None, typer.Option(help="An agent that took part.")]
Outcome = Annotated[
    str | None, typer.Option(help="resolved, transferred, abandoned, failed, in_progress.")
]
Caller = Annotated[str | None, typer.Option(help="Caller number as dialled.")]


def _settings(env_file: Path) -> Settings:
    try:
        return load_settings(env_file)
    except SettingsError as exc:
        Console(stderr=True).print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc


@contextlib.asynccontextmanager
async def open_history(settings: Settings) -> AsyncIterator[CallHistory]:
    """The configured store, opened directly (no write-behind: the CLI waits for answers).

    Raises:
        typer.Exit: ``memory`` (records live only inside the server) or no ``POSTGRES_URL``.
    """
    choice = settings.providers.call_records
    err = Console(stderr=True)
    if choice == "sqlite":
        from adapters.sqlite import SqliteCallHistory

        path = settings.records.dir / SQLITE_FILE
        if not path.is_file():
            err.print(f"[yellow]no call records yet: {path} does not exist[/]")
            raise typer.Exit(1)
        sqlite = SqliteCallHistory(path, timeout_ms=max(settings.records.timeout_ms, 10_000))
        await sqlite.open()
        try:
            yield sqlite
        finally:
            await sqlite.aclose()
    elif choice == "postgres":
        from adapters.postgres import PostgresCallHistory

        if settings.postgres.url is None:
            err.print("[red]PARLEY_CALL_RECORDS=postgres needs POSTGRES_URL[/]")
            raise typer.Exit(1)
        pg = PostgresCallHistory(
            settings.postgres.url.get_secret_value(), timeout_ms=10_000, min_size=0
        )
        await pg.open()
        try:
            yield pg
        finally:
            await pg.aclose()
    else:
        err.print("[red]PARLEY_CALL_RECORDS=memory keeps records inside the server: use its API[/]")
        raise typer.Exit(1)


def _query(settings: Settings, **params: Any) -> CallQuery:
    try:
        return query_from(params, privacy_policy(settings).number)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _run(work: Any) -> Any:
    try:
        return asyncio.run(work)
    except StoreError as exc:
        Console(stderr=True).print(f"[red]call records unavailable: {exc}[/]")
        raise typer.Exit(1) from exc


@calls_app.command("list")
def list_calls(
    env_file: EnvFile = Path(".env"),
    from_: From = None,
    to: To = None,
    agent: Agent = None,
    outcome: Outcome = None,
    caller: Caller = None,
    limit: Annotated[int, typer.Option(help="Most calls shown.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines instead of a table.")] = False,
) -> None:
    """The latest calls, newest first."""
    settings = _settings(env_file)
    query = _query(
        settings,
        **{"from": from_, "to": to, "agent": agent, "outcome": outcome},
        caller=caller,
        limit=limit,
    )

    async def work() -> list[Any]:
        async with open_history(settings) as history:
            return await history.find(query)

    headers = _run(work())
    if as_json:
        for header in headers:
            sys.stdout.write(json.dumps(header_json(header), ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Calls ({len(headers)})")
    for column in ("started (UTC)", "call", "channel", "caller", "agents", "outcome", "s", "turns"):
        table.add_column(column)
    for h in headers:
        table.add_row(
            iso_time(h.started_at_ms)[:19].replace("T", " "),
            h.call_id,
            h.channel,
            h.caller or "-",
            ", ".join(h.agents),
            h.outcome,
            f"{h.duration_ms / 1000:.0f}",
            str(h.user_turns),
        )
    Console(highlight=False).print(table)


@calls_app.command()
def show(
    call_id: Annotated[str, typer.Argument(help="The call id.")],
    env_file: EnvFile = Path(".env"),
    as_json: Annotated[bool, typer.Option("--json", help="The record as JSON.")] = False,
) -> None:
    """One call: header, summary, recordings and transcript."""
    settings = _settings(env_file)

    async def work() -> CallRecord | None:
        async with open_history(settings) as history:
            return await history.get(call_id)

    record = _run(work())
    if record is None:
        Console(stderr=True).print(f"[red]no record of call {call_id}[/]")
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps(record_json(record), ensure_ascii=False, indent=2) + "\n")
        return
    _print_record(Console(highlight=False, soft_wrap=True), record)


def _print_record(console: Console, record: CallRecord) -> None:
    h = record.header
    console.print(f"[bold]call {h.call_id}[/] ({h.channel}) caller {h.caller or '-'}")
    console.print(
        f"agents {', '.join(h.agents)}; outcome [bold]{h.outcome}[/] ({h.end_reason or '-'});"
        f" {h.duration_ms / 1000:.1f} s, {h.user_turns} caller turn(s), {h.barge_ins} barge-in(s)"
    )
    summary = record.summary
    if summary is not None:
        console.print(f"summary ({summary.status}, {summary.source}): {summary.text}")
        console.print(f"disposition: {summary.disposition}; fields: {json.dumps(summary.fields)}")
    for rec in record.recordings:
        console.print(f"recording {rec.kind} {rec.state}: {rec.location or rec.recording_id}")
    for line in record.timeline():
        at = f"{line.offset_ms / 1000:7.2f}s"
        if line.kind == "user":
            console.print(f"{at} [bold]caller[/]: {line.text}")
        elif line.kind == "assistant":
            cut = " [dim](interrupted)[/]" if line.interrupted else ""
            console.print(f"{at} [cyan]{line.agent or 'agent'}[/]: {line.text}{cut}")
        elif line.kind == "tool_call":
            console.print(f"{at}   -> tool {line.text} {json.dumps(line.data.get('arguments'))}")
        elif line.kind == "tool":
            console.print(f"{at}   <- {line.data.get('name', 'tool')}: {line.text[:160]}")
        elif line.kind == "turn_latency":
            v2v = line.data.get("voice_to_voice")
            if v2v is not None:
                console.print(f"{at}   [dim]voice-to-voice {v2v} ms[/]")
        else:
            console.print(f"{at}   [yellow]~ {line.text}[/]")


@calls_app.command()
def export(
    env_file: EnvFile = Path(".env"),
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    from_: From = None,
    to: To = None,
    agent: Agent = None,
    outcome: Outcome = None,
    caller: Caller = None,
) -> None:
    """Every matching call, newest first, as JSON Lines (whole records) or CSV (one row each)."""
    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("--format: jsonl or csv")
    settings = _settings(env_file)
    base = _query(
        settings,
        **{"from": from_, "to": to, "agent": agent, "outcome": outcome},
        caller=caller,
        limit=500,
    )

    async def work(sink: TextIO) -> int:
        writer = csv.DictWriter(sink, fieldnames=CSV_COLUMNS) if fmt == "csv" else None
        if writer is not None:
            writer.writeheader()
        count, offset = 0, 0
        async with open_history(settings) as history:
            while True:
                page = await history.find(CallQuery(**{**_fields(base), "offset": offset}))
                for header in page:
                    record = await history.get(header.call_id)
                    if record is None:
                        continue
                    if writer is not None:
                        writer.writerow(csv_row(record))
                    else:
                        sink.write(json.dumps(record_json(record), ensure_ascii=False) + "\n")
                    count += 1
                if len(page) < base.limit:
                    return count
                offset += base.limit

    if out is None:
        count = _run(work(sys.stdout))
    else:
        with out.open("w", encoding="utf-8", newline="") as sink:
            count = _run(work(sink))
    Console(stderr=True).print(f"[dim]{count} call(s) exported[/]")


def _fields(query: CallQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in query.__dataclass_fields__}


@calls_app.command()
def delete(
    call_id: Annotated[str, typer.Argument(help="The call id.")],
    env_file: EnvFile = Path(".env"),
) -> None:
    """Erase a call's record and its WAV recording (a data-protection request)."""
    settings = _settings(env_file)

    async def work() -> bool:
        from adapters.audio.call_recording import WavCallRecorder
        from adapters.system.clock import SystemClock
        from domain.records import RecordsKeeper

        audio = WavCallRecorder(settings.records.dir / RECORDINGS_FOLDER)
        async with open_history(settings) as history:
            keeper = RecordsKeeper(
                history, clock=SystemClock(), wall_ms=lambda: 0.0, delete_media=audio.delete
            )
            return await keeper.erase(call_id) is not None

    if not _run(work()):
        Console(stderr=True).print(f"[red]no record of call {call_id}[/]")
        raise typer.Exit(1)
    Console(stderr=True).print(f"call {call_id} erased")
