"""The contract kit on the sample out-of-tree adapter (examples/echo-stt, its own project).

The adapter is not installed: its ``src`` folder is put on ``PYTHONPATH``, as an installed
package would be on ``sys.path``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "echo-stt"
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(EXAMPLE / "src"), "COLUMNS": "200"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        args, cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_sample_adapter_passes_the_kit_suite_in_its_own_test_run() -> None:
    done = run(str(BIN / "pytest"), "-v", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "8 passed" in done.stdout
    # Its own configuration and test module ran (examples/echo-stt, not Parley's).
    assert f"rootdir: {EXAMPLE}" in done.stdout
    assert "TestEchoSpeechToText::test_known_speech_gives_its_words PASSED" in done.stdout


def test_parley_contract_names_the_promise_a_wrong_adapter_breaks() -> None:
    done = run(str(BIN / "parley"), "contract", "stt", "echo_stt.contract:broken_stt_case")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "broken promise: ports.SpeechToText: events are ordered and offsets are milliseconds"
    ) in done.stdout
    # pytest's own detail of the failed assertion is there too (the kit's asserts rewritten).
    assert "assert 1.4 > (1700.0 / 10)" in done.stdout
    # The seven other promises are kept.
    assert done.stdout.count("│ passed │") == 7


def test_every_port_of_the_kit_runs_over_parleys_adapters_and_is_documented() -> None:
    from bootstrap.contract.registry import PORTS

    subclassed: list[str] = []
    for module in sorted((REPO_ROOT / "tests" / "contract").glob("test_*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
                assert len(bases) == 1, f"{module.name}: {node.name} is no kit suite's subclass"
                subclassed += bases
    suites = sorted(port.suite.__name__ for port in PORTS.values())
    # One subclass of each kit suite in tests/contract, and no suite of its own there.
    assert sorted(subclassed) == suites
    table = (REPO_ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    for key, port in PORTS.items():
        assert f"| `{key}` | `{port.suite.__name__}`" in table, key
        assert f"(`{port.suite.case_fixture}`)" in table, key
