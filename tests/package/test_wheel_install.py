"""The built wheel, installed (not editable) in a fresh venv, works from an empty folder.

One build and one install per module: the sdist and wheel come from a copy of the sources
through the in-tree backend; the venv gets ``parley[local]`` from the package index (pip's
cache makes repeat runs quick). Every command runs with a clean environment from an empty
temporary folder, so nothing of the repository (``agents/``, the top-level packages) is in
reach: what works, works from the wheel's own files. Each command runs in its own empty
folder; the quick ones beside ``parley serve``, then the spoken call, then the demo (both
play their audio in real time), and the tests read what they did.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bootstrap.contract.helpers import normalise_words
from tests.fixtures.redis_server import free_port

from .wheel_support import INTERNAL, REPO, build_release, clean_env, install_wheel, noise

pytestmark = pytest.mark.slow

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@dataclass(frozen=True, slots=True)
class Installed:
    wheel: Path
    bin: Path
    site_packages: Path


@dataclass(slots=True)
class Serving:
    health: int = 0
    ready: int = 0
    page: str = ""
    script: int = 0
    exit_code: int | None = None
    log: str = ""


@dataclass(slots=True)
class Runs:
    """What each command did; ``folders`` are the empty folders they ran in."""

    folders: dict[str, Path]
    results: dict[str, subprocess.CompletedProcess[str]]
    serving: Serving


def start(installed: Installed, cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """``parley ARGS`` of the venv, from ``cwd``, with a clean environment."""
    return subprocess.Popen(  # noqa: S603 (the installed console script)
        [str(installed.bin / "parley"), *args],
        cwd=cwd,
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(
    process: subprocess.Popen[str], timeout_s: float = 600
) -> subprocess.CompletedProcess[str]:
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert noise(result.stderr) == [], result.stderr
    return result.stdout


def serve_and_stop(installed: Installed, cwd: Path) -> Serving:
    """``parley serve``: probe it, then SIGTERM; a drain with no live call ends at once."""
    port = free_port()
    seen = Serving()
    log = cwd.parent / f"{cwd.name}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(  # noqa: S603 (the installed console script)
            [str(installed.bin / "parley"), "serve", "--port", str(port)],
            cwd=cwd,
            env=clean_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    seen.health = httpx.get(f"{base}/health", timeout=2).status_code
                except httpx.TransportError:
                    time.sleep(0.2)
                    continue
                seen.ready = httpx.get(f"{base}/ready", timeout=5).status_code
                seen.page = httpx.get(f"{base}/", timeout=5).text
                seen.script = httpx.get(f"{base}/static/talk.js", timeout=5).status_code
                break
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                seen.exit_code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    seen.log = log.read_text()
    return seen


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    built = build_release(work)
    bin_dir = install_wheel(built.wheel, work / "venv")
    (site_packages,) = (work / "venv" / "lib").glob("python3*/site-packages")
    return Installed(built.wheel, bin_dir, site_packages)


@pytest.fixture(scope="module")
def runs(
    installed: Installed, tmp_path_factory: pytest.TempPathFactory, shared_audio_dir: Path
) -> Runs:
    folders = {
        name: tmp_path_factory.mktemp(name)
        for name in ("demo", "call", "serve", "check", "init", "probe")
    }
    clip = str(shared_audio_dir / "book_a_room.wav")
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    version = start(installed, folders["check"], "--version")
    check = start(installed, folders["check"], "check")
    init = start(installed, folders["init"], "init", "my-agents")
    serving = serve_and_stop(installed, folders["serve"])
    results["version"], results["check"], results["init"] = map(finish, (version, check, init))
    starter = folders["init"] / "my-agents" / "concierge.yaml"
    if starter.is_file():  # the user edits the starter, then checks it
        starter.write_text(
            starter.read_text().replace("Thank you for calling Parley Bank.", "Welcome.")
        )
    results["init_check"] = finish(
        start(installed, folders["init"], "check", PARLEY_AGENTS_DIR="my-agents")
    )
    results["init_again"] = finish(start(installed, folders["init"], "init", "my-agents"))
    # One spoken call at a time: on a loaded 2-core machine, two at once starved the offline
    # recogniser of a 0.8 s clip (the same happens to the repository's own call test).
    # Real time: sent at 2x, the 0.8 s clip often made no caller turn at all with the
    # embedded default (heard in 1 run of 3; in real time, 3 of 3). The runtime times speech
    # by when frames arrive, and a real call's audio arrives in real time.
    results["call"] = finish(start(installed, folders["call"], "call", clip))
    results["demo"] = finish(start(installed, folders["demo"], "demo"))
    return Runs(folders, results, serving)


def test_the_wheel_ships_one_import_package_and_the_example_agents(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    roots = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert roots == {"parley"}
    for package in INTERNAL:
        assert f"parley/{package}/__init__.py" in names
        assert not (installed.site_packages / package).exists()
    assert "parley/_bundled/agents/conversation.yaml" in names
    assert "parley/_bundled/agents/prompts/concierge.j2" in names
    assert "parley/adapters/http/static/talk.html" in names
    meta = zipfile.ZipFile(installed.wheel).read(f"parley-{VERSION}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in meta and "Project-URL: Source," in meta
    top_level = zipfile.ZipFile(installed.wheel).read(f"parley-{VERSION}.dist-info/top_level.txt")
    assert top_level.decode().split() == ["parley"]


def test_only_parley_is_importable_and_the_internals_live_under_it(
    installed: Installed, tmp_path: Path
) -> None:
    probe = (
        "import importlib.util, parley.bootstrap.cli, parley.agents, parley.tools\n"
        "print([n for n in ('domain','ports','adapters','bootstrap')"
        " if importlib.util.find_spec(n)])\n"
        "import parley.bootstrap.selection as s\n"
        "print(sorted({r.factory.split('.')[0] for r in s.SELECTION_TABLE if r.factory}))\n"
    )
    out = subprocess.run(  # noqa: S603
        [str(installed.bin / "python"), "-c", probe],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    assert out == ["[]", "['parley']"]


def test_version_comes_from_the_one_place_in_pyproject(runs: Runs) -> None:
    assert ok(runs.results["version"]).strip() == f"parley {VERSION}"


def test_check_from_an_empty_folder_uses_the_bundled_agents(
    runs: Runs, installed: Installed
) -> None:
    out = ok(runs.results["check"])
    assert "configuration ok" in out
    assert f"agents ({installed.site_packages / 'parley' / '_bundled' / 'agents'})" in out
    assert "concierge (start), fraud" in out
    assert list(runs.folders["check"].iterdir()) == []


def test_init_writes_a_starter_folder_that_check_accepts_and_keeps_edits(runs: Runs) -> None:
    ok(runs.results["init"])
    starter = runs.folders["init"] / "my-agents"
    written = {p.relative_to(starter).as_posix() for p in starter.rglob("*.*")}
    assert {"conversation.yaml", "concierge.yaml", "tools.py", "prompts/fraud.j2"} <= written
    assert "agents (my-agents)" in ok(runs.results["init_check"])
    again = runs.results["init_again"]
    assert again.returncode == 1 and "not empty" in again.stdout
    assert "Welcome." in (starter / "concierge.yaml").read_text()


def test_call_with_a_real_speech_clip_from_an_empty_folder(runs: Runs) -> None:
    ok(runs.results["call"])
    out = runs.folders["call"] / "call-output"
    data = json.loads((out / "transcript.json").read_text())
    assert data["ok"]
    # Words, not punctuation: Whisper may or may not end the line with a full stop.
    heard = [normalise_words(e["text"]) for e in data["transcript"] if e["kind"] == "user"]
    assert heard == [["book", "a", "room"]]
    assert (out / "call.html").stat().st_size > 100_000


def test_serve_answers_health_and_the_talk_page_then_drains_on_sigterm(runs: Runs) -> None:
    seen = runs.serving
    assert (seen.health, seen.ready, seen.script) == (200, 200, 200), seen.log
    assert "<html" in seen.page.lower()
    assert seen.exit_code == 0, seen.log
    assert "drain complete" in seen.log
    assert noise(seen.log) == [], seen.log


def test_the_spoken_demo_from_an_empty_folder(runs: Runs) -> None:
    ok(runs.results["demo"])
    data = json.loads((runs.folders["demo"] / "demo-call" / "transcript.json").read_text())
    assert data["ok"]
    kinds = [e["kind"] for e in data["transcript"]]
    # The bundled tools ran (recognition of the synthesised caller varies with the load).
    assert "user" in kinds and "tool" in kinds, data["transcript"]
