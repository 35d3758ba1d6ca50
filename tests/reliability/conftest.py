"""Fixtures for the reliability suite: real ``parley`` processes on 127.0.0.1.

Every process a fixture starts is stopped (SIGTERM, then SIGKILL) when its test ends, and
every wait is bounded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bootstrap.settings import all_env_keys

REPO = Path(__file__).resolve().parents[2]
PARLEY = [str(Path(sys.executable).with_name("parley"))]
"""The ``parley`` console script installed beside the interpreter running the tests."""

FAKE_ENGINES = {
    "PARLEY_STT": "fake",
    "PARLEY_TTS": "fake",
    "PARLEY_VAD": "fake",
    "PARLEY_LLM": "offline",
    "PARLEY_AGENTS_DIR": str(REPO / "agents"),
    "PARLEY_LOG_LEVEL": "WARNING",
}
"""A configuration that needs no engine, model or cloud service."""


def clean_environ(extra: dict[str, str]) -> dict[str, str]:
    """The test process's environment without any Parley key, plus ``extra``."""
    keys = set(all_env_keys())
    env = {k: v for k, v in os.environ.items() if k.upper() not in keys}
    # Call records go to the session's folder (tests/conftest.py), not the repository.
    env["PARLEY_RECORDS_DIR"] = os.environ.get("PARLEY_RECORDS_DIR", "")
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_parley(
    args: list[str], env: dict[str, str], env_file: Path, *, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run one ``parley`` command to completion (bounded by ``timeout_s``)."""
    return subprocess.run(
        [*PARLEY, *args, "--env-file", str(env_file)],
        env=clean_environ(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@dataclass
class ServeProcess:
    """A running ``parley serve`` child process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_serve(env: dict[str, str], workdir: Path, *, name: str = "serve") -> ServeProcess:
    """Start ``parley serve`` on a free port and wait (bounded) until ``/health`` answers.

    Raises:
        RuntimeError: The server exited or did not answer within 30 s (its log is attached).
    """
    port = free_port()
    env_file = workdir / f"{name}.env"
    env_file.write_text("")
    log = workdir / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*PARLEY, "serve", "--port", str(port), "--env-file", str(env_file)],
            env=clean_environ(env),
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = ServeProcess(process, port, log, env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"parley serve exited {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"parley serve did not answer /health:\n{server.output()}")


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[object]:
    """``start(env, name=...)`` -> :class:`ServeProcess`; every process is stopped at the end."""
    started: list[ServeProcess] = []

    def start(env: dict[str, str], *, name: str = "serve") -> ServeProcess:
        server = start_serve(env, tmp_path, name=name)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A ``.env`` path in a clean environment (no Parley key of the test process leaks in)."""
    for key in all_env_keys():
        monkeypatch.delenv(key, raising=False)
    return tmp_path / ".env"
