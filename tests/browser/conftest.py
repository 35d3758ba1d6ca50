"""Fixtures of the real-browser tests: a real ``parley serve`` and headless Debian Chromium.

Chromium comes from Debian (``apt-get install -y chromium``, in the Makefile's test
prerequisites); Playwright's Python package drives it with ``executable_path`` (never
``playwright install``). Without Chromium or Playwright the tests skip with that reason, except
when ``CI`` is set: then they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bootstrap.settings import all_env_keys

FIGURES = pytest.StashKey[list[str]]()

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("PARLEY_ARTIFACTS_DIR", REPO / "test-artifacts"))
"""Where the browser tests save their screenshots (``PARLEY_ARTIFACTS_DIR`` moves it)."""
OPERATOR_KEY = "test-operator-key-for-the-console"

PICTURE_COUNTS = """() => {
    const gd = document.getElementById('call');
    const kinds = {};
    const turns = new Set();
    for (const t of gd.data) {
        const kind = (t.meta || {}).kind;
        if (!kind) continue;
        kinds[kind] = (kinds[kind] || 0) + 1;
        if (kind === 'latency') turns.add(t.meta.turn);
    }
    return {
        kinds, turns: turns.size,
        bars: gd.querySelectorAll('.barlayer .point').length,
        summary: JSON.parse(document.getElementById('call-summary').textContent),
    };
}
"""
"""JavaScript run in a loaded ``call.html``: its marks by kind, turns, latency bars, summary."""


@dataclass(frozen=True)
class Picture:
    """What a ``call.html`` showed in Chromium (see :func:`open_call_html`)."""

    counts: dict[str, Any]
    errors: list[str]
    requests: list[str]


def open_call_html(chromium: str, page: Path, profile: Path, screenshot: str) -> Picture:
    """Open a ``call.html`` file in headless Chromium, count what it shows, screenshot it.

    Args:
        chromium: The Chromium binary.
        page: The file.
        profile: A fresh profile folder (Playwright passes it as ``--user-data-dir``).
        screenshot: File name of the screenshot in :data:`ARTIFACTS`.
    """
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 950},
        )
        try:
            tab = browser.new_page()
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.on("request", lambda r: requests.append(r.url))
            tab.goto(page.as_uri())
            tab.wait_for_selector("#call .main-svg", timeout=30_000)
            counts = tab.evaluate(PICTURE_COUNTS)
            tab.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
        finally:
            browser.close()
    return Picture(counts, errors, requests)


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    figures = config.stash.get(FIGURES, [])
    if figures:
        terminalreporter.section("browser figures (measured in the page)")
        for line in figures:
            terminalreporter.write_line(line)


@pytest.fixture
def report_figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Adds a line to the figures printed at the end of the run (no timing assertions)."""
    figures = request.config.stash.setdefault(FIGURES, [])
    return figures.append


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium binary; skips (fails in CI) when it is not installed."""
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        _missing("chromium is not installed (apt-get install -y chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed (pip install playwright)")
    return str(path)


def launch_args(clip: Path) -> list[str]:
    """Chromium's flags, with ``clip`` played once as the microphone."""
    return [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={clip}%noloop"]


@dataclass(frozen=True)
class Served:
    """A ``parley serve`` process on 127.0.0.1."""

    base_url: str
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve_env() -> dict[str, str]:
    """Extra ``.env`` lines of :func:`parley_serve` (parametrize a test to change them)."""
    return {}


@pytest.fixture
def parley_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve_env: dict[str, str]
) -> Iterator[Served]:
    """``parley serve`` with the embedded offline engines and an operator key."""
    for key in all_env_keys():
        monkeypatch.delenv(key, raising=False)
    port = _free_port()
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"PARLEY_PORT={port}\nPARLEY_AGENTS_DIR={REPO / 'agents'}\n"
        f"PARLEY_OPERATOR_KEY={OPERATOR_KEY}\nPARLEY_LOG_LEVEL=INFO\n"
        f"PARLEY_RECORDS_DIR={tmp_path / 'records'}\n"
        + "".join(f"{k}={v}\n" for k, v in serve_env.items())
    )
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from bootstrap.cli import main; main()", "serve",
             "--env-file", str(env_file)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"parley serve did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Served(base, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
