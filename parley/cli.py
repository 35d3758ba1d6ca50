"""The ``parley`` command line: the console script's entry point.

``pyproject.toml`` points the ``parley`` script here; the commands themselves live in
:mod:`bootstrap.cli` (typer). ``python -m parley`` runs the same.
"""

from bootstrap.cli import app, main

__all__ = ["app", "main"]
