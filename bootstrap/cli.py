"""The ``parley`` command line (typer + rich).

Commands:

* ``parley serve [--host --port --reload]``: run the server with uvicorn (graceful drain on
  SIGTERM; ``--reload`` is for development and skips the drain).
* ``parley chat``: a text REPL against the configured agent graph, language model and tools;
  no audio. Shows handoffs and tool calls. Reads lines from stdin, so it also takes a pipe.
* ``parley check``: validate ``.env``, settings, the tools module and the agent files; print
  the adapter chosen for each port; exit 1 on any problem.
* ``parley demo``: a spoken bank call through the local ACS emulator, synthesised caller,
  outputs in ``demo-call/`` (``make demo``); ``--text`` gives the scripted text conversation.
* ``parley call [CALLER.wav ...] [--server URL] [--speed X] [--out DIR]``: one inbound ACS
  call through the local ACS emulator (:mod:`bootstrap.call_command`); ``--telephony twilio``
  through the local Twilio emulator.
* ``parley dial +1... [--agent A --var k=v --at ISO --server URL]``: outbound calls through a
  running server (:mod:`bootstrap.dial_command`).
* ``parley init [DIR]``: copy the bundled example agents into ``DIR`` (default ``agents``).
* ``parley --version``: the installed version (``pyproject.toml``, read from the metadata).
* ``parley calls list|show|export|delete``: durable call records
  (:mod:`bootstrap.calls_command`).
* ``parley test [PATH]``: YAML conversation scenarios; ``parley contract PORT MODULE:FACTORY``:
  a port's contract suite on an adapter (:mod:`bootstrap.testkit.cli`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bootstrap.agents import AgentFileError, LoadedAgents
from bootstrap.bundled import parley_version
from bootstrap.call_command import call as call_command
from bootstrap.calls_command import calls_app
from bootstrap.chat import ChatLine, TextConversation
from bootstrap.containers import (
    ApplicationContainer,
    build_container,
    resolve,
)
from bootstrap.dial_command import dial as dial_command
from bootstrap.init_command import init as init_command
from bootstrap.logging import configure_logging
from bootstrap.runtime_settings import runtime_knobs
from bootstrap.selection import PORT_TITLES, SETTING_OF, SelectionError
from bootstrap.settings import Settings, SettingsError, load_settings
from bootstrap.testkit.cli import contract_command, test_command
from bootstrap.tools import ToolsModuleError
from bootstrap.validation import Validation, validate_configuration

app = typer.Typer(
    name="parley",
    help="Parley: a real-time voice agent server for Azure Communication Services callers.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"parley {parley_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Parley: a real-time voice agent server for Azure Communication Services callers."""


EnvFile = Annotated[Path, typer.Option("--env-file", help="dotenv file to read (missing is fine).")]

DEMO_SCRIPT = (
    "Hi, what is my balance?",
    "What are my recent transactions?",
    "There is a charge I don't recognize, the 899.99 dollars one.",
    "Yes, lock my card ending in 4242.",
    "I want to talk to a person.",
)
"""What the demo caller says (the bank scenario in agents/)."""


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _load_or_exit(console: Console, env_file: Path) -> Settings:
    try:
        return load_settings(env_file)
    except SettingsError as exc:
        console.print("[bold red]settings are invalid:[/]")
        for problem in exc.problems:
            console.print(f"  [red]x[/] {problem}")
        raise typer.Exit(1) from exc


def _quiet_logging(settings: Settings) -> None:
    configure_logging(
        level="WARNING"
        if settings.server.log_level in ("DEBUG", "INFO")
        else settings.server.log_level,
        fmt=settings.server.log_format,
        secrets=settings.secret_values(),
    )


def _print_problems(console: Console, found: Validation) -> None:
    for warning in found.warnings:
        console.print(f"  [yellow]![/] {warning}")
    for problem in found.problems:
        console.print(f"  [red]x[/] {problem}")


@app.command()
def check(env_file: EnvFile = Path(".env")) -> None:
    """Validate .env, settings, tools and agent files; print the adapter of each port."""
    console = _console()
    if not env_file.is_file():
        console.print(f"[dim]{env_file} not found: using the environment and defaults[/]")
    found = validate_configuration(env_file)
    if found.settings is None:
        console.print("[bold red]settings are invalid:[/]")
        _print_problems(console, found)
        raise typer.Exit(1)
    _quiet_logging(found.settings)

    table = Table(title="Adapters", show_lines=False)
    for column in ("port", "setting", "adapter", "status"):
        table.add_column(column)
    for report in found.reports:
        status = "[green]ok[/]"
        if report.problems:
            status = "[red]unavailable[/]"
        elif report.warnings:
            status = "[yellow]disabled[/]"
        table.add_row(
            PORT_TITLES[report.port],
            f"{SETTING_OF[report.port]}={report.option.value}",
            report.option.label,
            status,
        )
    console.print(table)
    console.print(_runtime_table(found.settings))
    if found.tools is not None:
        console.print(
            f"tools ({found.settings.server.resolved_tools_module()}):"
            f" {', '.join(sorted(found.tools.names())) or 'none'}"
        )
    if found.agents is not None:
        loaded = found.agents
        agents = ", ".join(
            f"{a.name}{' (start)' if a.name == loaded.graph.start else ''}"
            for a in loaded.graph.agents
        )
        console.print(f"agents ({found.settings.server.agents_dir}): {agents}")
    _print_problems(console, found)
    if found.problems:
        console.print(f"[bold red]{len(found.problems)} problem(s)[/]")
        raise typer.Exit(1)
    console.print("[bold green]configuration ok[/]")


def _runtime_table(settings: Settings) -> Table:
    """The call runtime's effective tuning, with the setting each value comes from."""
    table = Table(title="Call runtime (effective)", show_lines=False)
    for column in ("knob", "value", "from"):
        table.add_column(column)
    for knob in runtime_knobs(settings):
        value = f"{knob.value:g}" if isinstance(knob.value, float) else str(knob.value)
        table.add_row(knob.field, value, knob.source)
    return table


def _render(console: Console, line: ChatLine) -> None:
    who = line.agent or "agent"
    if line.kind == "agent":
        console.print(f"[bold cyan]{who}[/]: {line.text}")
    elif line.kind == "user":
        if not sys.stdin.isatty():
            console.print(f"[bold]caller[/]: {line.text}")
    elif line.kind == "tool_call":
        console.print(f"  [magenta]-> tool[/] {line.text}({line.data.get('arguments', {})})")
    elif line.kind == "tool_result":
        flag = "[red]error[/] " if line.data.get("is_error") else ""
        text = line.text if len(line.text) <= 160 else line.text[:157] + "..."
        console.print(f"  [magenta]<- {flag}[/]{text}", markup=True)
    elif line.kind == "handoff":
        console.print(f"  [yellow]~ handoff[/] {line.data.get('from')} -> {line.data.get('to')}")
    elif line.kind == "transfer":
        console.print(f"  [yellow]~ transfer to[/] {line.text}")
    elif line.kind == "hang_up":
        console.print("  [yellow]~ hang up[/]")
    elif line.kind == "error":
        console.print(f"  [red]! {line.text}[/]")


async def _conversation(
    container: ApplicationContainer, console: Console, *, offline: bool
) -> TextConversation:
    from domain.session import Conversation

    agents: LoadedAgents = container.core.agents()
    if offline:
        from adapters.local.dialog import OfflineDialogModel

        llm = OfflineDialogModel(agents.dialog_agents, default_agent=agents.graph.start)
    else:
        llm = await resolve(container.adapters.llm)
    return TextConversation(
        Conversation(agents.graph, agents.policy),
        llm,
        container.adapters.tools(),
        lambda line: _render(console, line),
        config=container.runtime.config(),
    )


def _build(console: Console, settings: Settings) -> ApplicationContainer:
    container = build_container(settings)
    try:
        container.core.agents()
    except (AgentFileError, ToolsModuleError) as exc:
        console.print(f"[bold red]{exc}[/]")
        raise typer.Exit(1) from exc
    return container


@app.command()
def chat(env_file: EnvFile = Path(".env")) -> None:
    """Text REPL with the configured agents and language model (no audio). Ctrl-D ends."""
    console = _console()
    settings = _load_or_exit(console, env_file)
    _quiet_logging(settings)
    container = _build(console, settings)
    label = (
        "offline dialog model" if settings.providers.llm == "offline" else settings.providers.llm
    )
    console.print(f"[dim]parley chat - language model: {label}; empty line or Ctrl-D ends[/]")

    async def run() -> None:
        try:
            conversation = await _conversation(container, console, offline=False)
        except SelectionError as exc:
            console.print(f"[bold red]{exc}[/]")
            raise typer.Exit(1) from exc
        try:
            await conversation.start()
            while not conversation.ended:
                if sys.stdin.isatty():
                    console.print("[bold]caller[/]: ", end="")
                line = await asyncio.to_thread(sys.stdin.readline)
                if not line or not line.strip():
                    break
                await conversation.say(line)
            await conversation.close("remote_closed")
            console.print(f"[dim]call ended: {conversation.end_reason}[/]")
        finally:
            result: Any = container.shutdown_resources()
            if inspect.isawaitable(result):
                await result

    asyncio.run(run())


@app.command()
def demo(
    env_file: EnvFile = Path(".env"),
    text: Annotated[bool, typer.Option(help="The scripted text demo instead.")] = False,
) -> None:
    """A spoken bank call through the local ACS emulator (``--text``: a scripted text chat)."""
    if not text:
        call_command(wavs=None, server=None, speed=1.0, out=Path("demo-call"), env_file=env_file)
        return
    console = _console()
    settings = _load_or_exit(console, env_file)
    _quiet_logging(settings)
    container = _build(console, settings)
    console.rule("Parley demo: the bank concierge (text mode, offline dialog model)")

    async def run() -> None:
        conversation = await _conversation(container, console, offline=True)
        await conversation.start()
        for line in DEMO_SCRIPT:
            if conversation.ended:
                break
            await conversation.say(line)
        await conversation.close("remote_closed")
        console.rule(f"call ended: {conversation.end_reason}")

    asyncio.run(run())


def _tune_gc_for_serving() -> None:
    """Move start-up objects out of the collector's sight and collect young objects less often.

    The call path allocates many short-lived objects; with Python's default thresholds, full
    collections over everything imported at start paused the loop up to 129 ms at 500 calls
    (benchmarks/bench_runtime.py, default GC vs ``--tune-gc``). Freezing what exists after
    start-up and raising the first threshold cut loop-lag p99 from 6-31 ms to 4-9 ms there.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1000)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface; default PARLEY_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port; default PARLEY_PORT.")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    env_file: EnvFile = Path(".env"),
    workers: Annotated[
        int | None,
        typer.Option(help="Processes sharing the port, one per core; default PARLEY_WORKERS."),
    ] = None,
    reuse_port: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Serve HTTP and WebSockets with uvicorn; SIGTERM drains live calls first."""
    import uvicorn

    from adapters.http import DrainingServer, serving_config
    from adapters.http.serve import reuse_port_socket
    from bootstrap.app import create_app

    console = _console()
    # The same validation as `parley check`: a configuration check says ok for starts here.
    found = validate_configuration(env_file)
    if not found.ok or found.settings is None:
        console.print("[bold red]parley serve: the configuration is invalid[/]")
        _print_problems(console, Validation(problems=found.problems))
        raise typer.Exit(1)
    settings = found.settings
    configure_logging(
        level=settings.server.log_level,
        fmt=settings.server.log_format,
        secrets=settings.secret_values(),
    )
    bind_host = host or settings.server.host
    bind_port = port if port is not None else settings.server.port
    if reload:
        uvicorn.run(
            "bootstrap.app:create_app_from_env",
            factory=True,
            host=bind_host,
            port=bind_port,
            reload=True,
            log_config=None,
        )
        return
    count = workers if workers is not None else settings.server.workers
    if count > 1:
        _serve_workers(console, settings, count, bind_host, bind_port, env_file)
        return
    container = _build(console, settings)
    application = create_app(container)
    if settings.server.gc_tuned:
        _tune_gc_for_serving()
    config = serving_config(
        application,
        fast_loop=settings.server.fast_loop,
        host=bind_host,
        port=bind_port,
        log_config=None,
        ws_max_size=max(settings.server.max_message_bytes * 4, 1 << 20),
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    server = DrainingServer(
        config,
        admission=application.state.admission,
        drain_timeout_s=settings.server.drain_timeout_s,
    )
    server.run(sockets=[reuse_port_socket(bind_host, bind_port)] if reuse_port else None)


def _serve_workers(
    console: Console, settings: Settings, count: int, host: str, port: int, env_file: Path
) -> None:
    """``--workers N``: N ``parley serve`` processes on one port (:mod:`bootstrap.workers`)."""
    from bootstrap.workers import Supervisor, worker_command

    if settings.providers.store != "redis":
        console.print(
            "[bold red]PARLEY_WORKERS / --workers above 1 needs PARLEY_STORE=redis[/]: a call's"
            " callbacks may reach any process, and the Redis-backed router delivers them to"
            " the process that owns the call"
        )
        raise typer.Exit(1)
    args = ["--host", host, "--port", str(port), "--env-file", str(env_file)]
    raise typer.Exit(Supervisor(count, worker_command(args)).run())


# `parley init [DIR]`: a starter agents folder (bootstrap/init_command.py).
app.command(name="init")(init_command)

# `parley call`: one inbound ACS call through the local ACS emulator (bootstrap/call_command.py).
app.command(name="call")(call_command)
# `parley calls list|show|export|delete`: durable call records (bootstrap/calls_command.py).
app.add_typer(calls_app, name="calls")
# `parley dial`: outbound calls through a running server's POST /api/calls.
app.command(name="dial")(dial_command)
# `parley test` (YAML conversation scenarios) and `parley contract` (the contract kit):
# bootstrap/testkit/cli.py.
app.command(name="test")(test_command)
app.command(name="contract")(contract_command)


def main() -> None:
    """Console-script entry point (``parley``)."""
    logging.captureWarnings(True)
    app()


if __name__ == "__main__":  # `python -m bootstrap.cli`: how `serve --workers N` starts workers
    main()
