"""``parley chat`` with PARLEY_LLM=azure_openai / openai, pointed at the local OpenAI stand-in.

The bank example (agents/) runs offline: the stand-in's keyword agent calls the
``check_balance`` tool, then the ``handoff_to_fraud`` handoff tool, and answers tool results.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators.openai_standin import OpenAIStandin, running_standin

REPO = Path(__file__).resolve().parents[2]
PARLEY = Path(sys.executable).parent / "parley"

pytestmark = [pytest.mark.e2e, pytest.mark.standin]


@pytest.fixture(scope="module")
def standin() -> Iterator[OpenAIStandin]:
    with running_standin() as running:
        yield running


def _chat(
    env: dict[str, str], lines: list[str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AZURE_", "OPENAI_"))
    }
    return subprocess.run(
        [str(PARLEY), "chat", "--env-file", str(tmp_path / "none.env")],
        input="\n".join([*lines, "", ""]),
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**base, "PARLEY_AGENTS_DIR": str(REPO / "agents"), "COLUMNS": "200", **env},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("kind", ["azure_openai", "openai"])
def test_parley_chat_runs_the_bank_scenario_with_a_tool_and_a_handoff(
    kind: str, standin: OpenAIStandin, tmp_path: Path
) -> None:
    standin.reset()
    if kind == "azure_openai":
        env = {
            "PARLEY_LLM": "azure_openai",
            "AZURE_OPENAI_ENDPOINT": standin.azure_endpoint,
            "AZURE_OPENAI_API_KEY": standin.api_key,
            "AZURE_OPENAI_DEPLOYMENT": "bank-deployment",
        }
        path = "/openai/deployments/bank-deployment/chat/completions"
    else:
        env = {
            "PARLEY_LLM": "openai",
            "OPENAI_BASE_URL": standin.openai_base_url,
            "OPENAI_API_KEY": standin.bearer_token,
            "OPENAI_MODEL": "local-model",
        }
        path = "/v1/chat/completions"

    done = _chat(env, ["what is my balance", "I want to report fraud"], tmp_path)

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "-> tool check_balance" in out
    assert "concierge: Done:" in out and "balance" in out
    assert "~ handoff concierge -> fraud" in out
    assert "fraud: " in out
    assert {r.path for r in standin.requests} == {path}
    # After the handoff the fraud agent answers with its own instructions and the history.
    last = standin.requests[-1].body
    assert [t["function"]["name"] for t in last["tools"]].count("report_fraud") == 1
    roles = [m["role"] for m in last["messages"]]
    assert roles[0] == "system" and "tool" in roles
    assert any(m.get("name") == "concierge" for m in last["messages"] if m["role"] == "assistant")
