"""The embedded default needs no network: a whole ``parley call`` in a network namespace of its
own (``unshare -n``: loopback only, no route and no DNS), so any model-hub lookup or download
would fail the call (issue 15: "never let a hub lookup happen").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.acs_support import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Runs inside the new namespace: bring its loopback interface up (SIOCGIFFLAGS/SIOCSIFFLAGS,
# IFF_UP; no iproute2 needed), check that nothing outside is reachable, then become the CLI.
_CHILD = r"""
import fcntl, os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack("16sH14x", b"lo", 0)
flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, req))[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 0x1))
try:
    socket.create_connection(("1.1.1.1", 443), timeout=2)
except OSError:
    pass
else:
    sys.exit("the namespace reaches the outside world")
os.execv(sys.argv[1], sys.argv[1:])
"""


def unshare_or_skip() -> str:
    path = shutil.which("unshare")
    if path is None or subprocess.run([path, "-n", "true"], check=False).returncode != 0:  # noqa: S603
        if os.environ.get("CI"):
            pytest.fail("unshare -n is required in CI (util-linux, run as root)")
        pytest.skip("unshare -n is not available (needs util-linux and root)")
    return path


def test_a_whole_call_on_the_embedded_default_runs_with_the_network_cut(
    shared_audio_dir: Path, tmp_path: Path
) -> None:
    unshare = unshare_or_skip()
    env_file = tmp_path / ".env"
    env_file.write_text(f"PARLEY_AGENTS_DIR={REPO_ROOT / 'agents'}\n")
    parley = Path(sys.executable).with_name("parley")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "HF_", "LOCAL_"))}
    done = subprocess.run(  # noqa: S603
        [
            unshare, "-n", sys.executable, "-c", _CHILD, str(parley), "call",
            str(shared_audio_dir / "go_forward.wav"), "--out", str(tmp_path / "out"),
            "--env-file", str(env_file),
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    transcript = json.loads((tmp_path / "out" / "transcript.json").read_text())
    heard = " ".join(e["text"] for e in transcript["transcript"] if e["kind"] == "user")
    assert "forward" in heard.lower(), heard
    agent = [e["text"] for e in transcript["transcript"] if e["kind"] == "assistant"]
    assert len(agent) >= 2, agent  # the greeting and a reply
