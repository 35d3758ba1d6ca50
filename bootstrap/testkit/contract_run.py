"""``parley contract PORT MODULE:FACTORY``: run a port's kit suite on an adapter's case.

The run is a pytest session over ``bootstrap/contract/selected.py`` with its own minimal
configuration (``asyncio_mode = auto``); the factory's case is built inside it (see
:mod:`bootstrap.contract.runner`). Nothing here imports the kit's suites before pytest starts,
so pytest rewrites their assertions into detailed messages. The table printed after the run
names every promise and whether the adapter kept it.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ContractRunError", "PromiseResult", "run_contract"]


class ContractRunError(ValueError):
    """The factory reference does not import (checked before pytest starts)."""


@dataclass
class PromiseResult:
    """One promise of the suite and how the adapter fared.

    Attributes:
        promise: ``<protocol>: <promise>``.
        outcome: ``passed``, ``failed`` or ``skipped``.
        detail: The first line of the failure or the skip reason.
    """

    promise: str
    outcome: str = "passed"
    detail: str = ""


@dataclass
class _Collector:
    """A pytest plugin object gathering one row per test of the run."""

    results: dict[str, PromiseResult] = field(default_factory=dict)

    def pytest_runtest_makereport(self, item: Any, call: Any) -> None:
        from bootstrap.contract.suite import promise_of

        if item.nodeid not in self.results and getattr(item, "cls", None) is not None:
            doc = inspect.getdoc(getattr(item, "function", None))
            self.results[item.nodeid] = PromiseResult(promise_of(item.cls, item.name, doc))

    def pytest_runtest_logreport(self, report: Any) -> None:
        row = self.results.get(report.nodeid)
        if row is None or row.outcome == "failed":
            return
        if report.failed:
            row.outcome = "failed"
            row.detail = _first_line(report)
        elif report.skipped and report.when in ("setup", "call"):
            row.outcome = "skipped"
            row.detail = _first_line(report)


def _first_line(report: Any) -> str:
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:200]
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])[:200]
    return str(longrepr).strip().splitlines()[-1][:200] if longrepr else ""


def run_contract(
    port: str, ref: str, *, pytest_args: Sequence[str] = ()
) -> tuple[int, list[PromiseResult]]:
    """Run ``port``'s suite on the case of factory ``ref``.

    Args:
        port: A key of :data:`~bootstrap.contract.registry.PORTS` (``stt``, ``tts``...).
        ref: ``module:factory``; the current directory is importable.
        pytest_args: More pytest arguments (``-x``, ``-k name``...).

    Returns:
        Pytest's exit code and one row per promise, in run order.

    Raises:
        ContractRunError: The factory's module does not import (an unknown port is a pytest
            usage error, exit code 4).
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m`: the user's modules import
    module, sep, attribute = ref.partition(":")
    if not sep or not module or not attribute:
        raise ContractRunError(f"{ref!r}: expected MODULE:FACTORY (e.g. my_adapter.contract:case)")
    try:
        # Found, not imported: importing it would import the kit's suites before pytest can
        # rewrite their assertions (pytest imports it inside the run).
        found = importlib.util.find_spec(module)
    except ImportError as exc:
        raise ContractRunError(f"{ref!r}: cannot import {module!r}: {exc}") from exc
    if found is None:
        raise ContractRunError(f"{ref!r}: no module {module!r} (from {os.getcwd()} or installed)")
    import pytest

    # Beside this package, found by path: importing bootstrap.contract would import the suites.
    selected = Path(__file__).resolve().parent.parent / "contract" / "selected.py"
    collector = _Collector()
    with tempfile.TemporaryDirectory(prefix="parley-contract-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text(
            "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n",
            encoding="utf-8",
        )
        args = [
            str(selected),
            "-c",
            str(ini),
            "--rootdir",
            tmp,
            "-p",
            "no:cacheprovider",
            f"--parley-contract={port}={ref}",
            "-q",
            # This process imported anyio (typer, starlette) before pytest loads its plugin.
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            *pytest_args,
        ]
        if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
            args[:0] = ["-p", "parley.testing.plugin"]
        code = int(pytest.main(args, plugins=[collector]))
    return code, list(collector.results.values())
