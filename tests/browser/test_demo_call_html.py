"""``make demo`` (``parley demo``) writes ``call.html``, prints its path, and it renders.

The real command runs in a subprocess (offline engines, the in-process server and the local
ACS emulator; the agent speaks at espeak-ng's fastest rate to keep the test short); the page it
wrote is opened in headless Debian Chromium, checked and screenshotted into the artefacts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap.settings import all_env_keys
from tests.browser.conftest import REPO, open_call_html

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEMO_TURNS = 3  # bootstrap.call_command.DEMO_CALLER_LINES


def test_make_demo_writes_call_html_prints_its_path_and_it_renders(
    chromium_path: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in set(all_env_keys())}
    env.update(PARLEY_AGENTS_DIR=str(REPO / "agents"), LOCAL_ESPEAK_RATE_WPM="450")
    parley = Path(sys.executable).with_name("parley")
    demo = subprocess.run(  # noqa: S603 (our own console script)
        [str(parley), "demo", "--env-file", str(tmp_path / "absent.env")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output[-3000:]
    printed = re.findall(r"wrote (\S*call\.html)", output)
    assert printed == ["demo-call/call.html"], output[-3000:]
    page_path = tmp_path / printed[0]
    assert page_path.is_file()

    picture = open_call_html(chromium_path, page_path, tmp_path / "profile", "demo_call_html.png")
    counts, errors, requests = picture.counts, picture.errors, picture.requests
    assert errors == []
    assert all(url.startswith(("file:", "data:", "blob:", "about:")) for url in requests)
    assert counts["kinds"]["waveform"] == 2  # the caller's and the agent's
    # Every caller turn the server recorded is drawn, with its latency bars (how many of the
    # demo's lines pocketsphinx recognised depends on the machine's load; at least one).
    recorded = json.loads((page_path.parent / "transcript.json").read_text())
    heard = sum(entry["kind"] == "user" for entry in recorded["transcript"])
    assert 1 <= heard <= DEMO_TURNS
    assert counts["summary"]["turns"] == counts["turns"] == heard
    assert counts["summary"]["tool_calls"] >= 1
