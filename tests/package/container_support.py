"""Podman for the image tests: find a working runtime, build a Debian base, run containers.

No registry image can be pulled on the test machines (only PyPI, Debian and npm are
reachable), so the base image is a Debian bookworm root filesystem made with ``debootstrap``
(python3, python3-venv, ca-certificates) and imported into podman; the Dockerfile takes it
through its ``PYTHON_IMAGE`` build argument. The machine's CA bundle and a pip.conf naming it
go into that base: the build downloads wheels from PyPI through whatever TLS interception the
machine's own pip trusts. The base is cached in podman's store under a name that hashes its
recipe, so it is made once per machine (about 3 minutes).

What this sandbox needed, found by trying (see docs/deploy.md, "Building the image"):
``crun`` refuses cgroup v1 hybrid hosts, so ``runc`` is used when crun cannot start a
container; ``CAP_SYS_RESOURCE`` is not granted, so the open-files and process limits are set
explicitly at or below the host's.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
LIMITS = ("--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096")


class EngineUnavailable(RuntimeError):
    """No container engine can run a container here; the message says what failed."""


@dataclass(frozen=True, slots=True)
class Podman:
    """``podman`` with the runtime and limits that work on this machine."""

    runtime: str | None

    def args(self, *args: str) -> list[str]:
        """``podman [--runtime R] ARGS``."""
        runtime = ["--runtime", self.runtime] if self.runtime else []
        return ["podman", *runtime, *args]

    def run(
        self, *args: str, timeout_s: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``podman ARGS``; with ``check``, fail naming the command and its output."""
        result = subprocess.run(  # noqa: S603 (podman, our own arguments)
            self.args(*args), capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"podman {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result


def base_image_name() -> str:
    """The cached base image's name: a hash of its recipe and the CA bundle it carries."""
    recipe = "|".join((DEBIAN_SUITE, *BASE_PACKAGES)).encode()
    ca = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.is_file() else b""
    digest = hashlib.sha256(recipe + ca).hexdigest()[:12]
    return f"localhost/parley-test-base:{DEBIAN_SUITE}-{digest}"


def ensure_base_image(podman: Podman) -> str:
    """The Debian base image, made with debootstrap unless podman already has it."""
    name = base_image_name()
    if podman.run("image", "exists", name, check=False).returncode == 0:
        return name
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise EngineUnavailable("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="parley-rootfs-") as tmp:
        root = Path(tmp) / "root"
        subprocess.run(  # noqa: S603 (debootstrap, fixed arguments)
            [
                debootstrap,
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                DEBIAN_SUITE,
                str(root),
                DEBIAN_MIRROR,
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            check=True,
        )
        if HOST_CA_BUNDLE.is_file():
            shutil.copyfile(HOST_CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
            (root / "etc/pip.conf").write_text(f"[global]\ncert = {HOST_CA_BUNDLE}\n")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        archive = Path(tmp) / "root.tar"
        subprocess.run(  # noqa: S603, S607 (tar, fixed arguments)
            ["tar", "-C", str(root), "-cf", str(archive), "."], check=True, timeout=600
        )
        podman.run("import", str(archive), name, timeout_s=600)
    return name


def find_podman() -> Podman:
    """A podman that can start a container here (default runtime first, then runc).

    Raises:
        EngineUnavailable: podman is missing, or no runtime could start a container; the
            message has each runtime's error.
    """
    if shutil.which("podman") is None:
        raise EngineUnavailable("podman is not installed (apt-get install podman runc)")
    errors = []
    probe = None
    for runtime in (None, "runc"):
        podman = Podman(runtime)
        if runtime and shutil.which(runtime) is None:
            errors.append(f"{runtime}: not installed")
            continue
        probe = probe or ensure_base_image(podman)
        result = podman.run("run", "--rm", *LIMITS, probe, "true", check=False, timeout_s=120)
        if result.returncode == 0:
            return podman
        errors.append(f"{runtime or 'default runtime'}: {result.stderr.strip()[-300:]}")
    raise EngineUnavailable("no runtime could start a container: " + "; ".join(errors))
