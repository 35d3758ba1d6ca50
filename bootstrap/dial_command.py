"""``parley dial``: place outbound calls through a running server's ``POST /api/calls``.

    parley dial +14255550123 --agent concierge --var name=Ana
    parley dial +14255550123 +14255550124 --at 2026-12-08T09:00:00Z --no-wait

The server (``--server``, default ``http://<PARLEY_HOST>:<PARLEY_PORT>``) queues the numbers in
its dialer (``PARLEY_OUTBOUND_*`` limits) and places them through its telephony provider; the
command authenticates with the operator key (``--key`` or ``PARLEY_OPERATOR_KEY``), prints what
was queued and, unless ``--no-wait``, follows each number to its outcome (completed, voicemail,
busy, no answer...). Exit status 1 when the request was refused or a call failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from bootstrap.settings import SettingsError, load_settings

FAILED = {"failed", "invalid_number", "cancelled"}


def _variables(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r}: give variables as name=value", param_hint="--var")
        variables[name] = value
    return variables


def dial(
    numbers: Annotated[list[str], typer.Argument(help="E.164 numbers to call.")],
    agent: Annotated[str, typer.Option(help="Agent to start the calls with.")] = "",
    var: Annotated[
        list[str] | None, typer.Option(help="Prompt template variable, name=value (repeat).")
    ] = None,
    caller_id: Annotated[str, typer.Option(help="E.164 number to call from.")] = "",
    at: Annotated[str, typer.Option(help="When to call (ISO 8601 with a time zone).")] = "",
    server: Annotated[str, typer.Option(help="Base URL of the running server.")] = "",
    key: Annotated[str, typer.Option(help="Operator key (default PARLEY_OPERATOR_KEY).")] = "",
    wait: Annotated[bool, typer.Option(help="Follow each call to its outcome.")] = True,
    timeout: Annotated[float, typer.Option(help="Longest wait for the outcomes, s.")] = 600.0,
    env_file: Annotated[
        Path, typer.Option("--env-file", help="dotenv file to read (missing is fine).")
    ] = Path(".env"),
) -> None:
    """Place outbound calls through a running server (POST /api/calls)."""
    console = Console(highlight=False, soft_wrap=True)
    try:
        settings = load_settings(env_file)
    except SettingsError as exc:
        console.print(f"[bold red]{exc}[/]")
        raise typer.Exit(1) from exc
    secret = settings.server.operator_key
    token = key or (secret.get_secret_value() if secret is not None else "")
    if not token:
        console.print("[bold red]an operator key is needed: --key or PARLEY_OPERATOR_KEY[/]")
        raise typer.Exit(1)
    base = (server or f"http://{settings.server.host}:{settings.server.port}").rstrip("/")
    common: dict[str, Any] = {"variables": _variables(var or [])}
    for name, value in (("agent", agent), ("caller_id", caller_id), ("at", at)):
        if value:
            common[name] = value
    body = {"calls": [{"to": number, **common} for number in numbers]}
    headers = {"Authorization": f"Bearer {token}"}
    results = asyncio.run(_place(base, headers, body, timeout if wait else None, console))
    if results is None:
        return
    table = Table(title="outbound calls")
    for column in ("to", "outcome", "end reason", "call id"):
        table.add_column(column)
    for result in results:
        table.add_row(result["to"], result["outcome"], result["end_reason"], result["call_id"])
    console.print(table)
    if any(r["outcome"] in FAILED or not r["final"] for r in results):
        raise typer.Exit(1)


async def _place(
    base: str,
    headers: dict[str, str],
    body: dict[str, Any],
    follow_s: float | None,
    console: Console,
) -> list[dict[str, Any]] | None:
    """POST the calls, print what was queued and follow them to outcomes for ``follow_s`` s.

    Returns:
        Each call's latest status, or None when ``follow_s`` is None (not followed).

    Raises:
        typer.Exit: 1 when the server cannot be reached or refuses the request.
    """
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30.0) as http:
        try:
            response = await http.post("/api/calls", json=body)
        except httpx.HTTPError as exc:
            console.print(f"[bold red]cannot reach {base}: {type(exc).__name__}[/]")
            raise typer.Exit(1) from exc
        if response.status_code != 202:
            console.print(f"[bold red]refused (HTTP {response.status_code}): {response.text}[/]")
            raise typer.Exit(1)
        queued = response.json()["calls"]
        for call in queued:
            console.print(f"queued {call['to']}  id {call['id']}")
        if follow_s is None:
            return None
        return await _follow(http, [c["id"] for c in queued], follow_s, console)


async def _follow(
    http: httpx.AsyncClient, ids: list[str], follow_s: float, console: Console
) -> list[dict[str, Any]]:
    """Poll each call's outcome once a second until all are final or ``follow_s`` s pass."""
    latest: dict[str, dict[str, Any]] = {}
    with console.status("dialling...") as status, contextlib.suppress(TimeoutError):
        async with asyncio.timeout(follow_s):
            while True:
                for dial_id in ids:
                    if latest.get(dial_id, {}).get("final"):
                        continue
                    response = await http.get(f"/api/outbound-calls/{dial_id}")
                    if response.status_code == 200:
                        latest[dial_id] = response.json()
                done = sum(1 for r in latest.values() if r.get("final"))
                status.update(f"{done} of {len(ids)} calls decided")
                if done == len(ids):
                    break
                await asyncio.sleep(1.0)
    return [latest[i] for i in ids if i in latest]
