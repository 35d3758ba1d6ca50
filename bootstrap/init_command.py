"""``parley init [DIR]``: write a starter agents folder (the bundled bank example) to edit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bootstrap.bundled import StarterExistsError, write_starter_agents


def init(
    directory: Annotated[
        Path, typer.Argument(help="The agents folder to create (default: ./agents).")
    ] = Path("agents"),
    force: Annotated[
        bool, typer.Option(help="Overwrite files of the same name in a non-empty folder.")
    ] = False,
) -> None:
    """Write a starter agents folder (YAML agents, prompts, tools.py) to edit."""
    console = Console(highlight=False, soft_wrap=True)
    try:
        written = write_starter_agents(directory, force=force)
    except (StarterExistsError, FileNotFoundError) as exc:
        console.print(f"[bold red]parley init: {exc}[/]")
        raise typer.Exit(1) from exc
    for path in written:
        console.print(f"  wrote {path}")
    hint = "" if directory == Path("agents") else f"; set PARLEY_AGENTS_DIR={directory} to use it"
    console.print(f"[bold green]starter agents in {directory}[/]{hint}. Next: parley check")
