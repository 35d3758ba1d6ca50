"""The bank agents on a real model endpoint (PARLEY_LLM=azure_openai / openai), dogfooding
the public test harness: the OpenAI adapter talks to the local OpenAI stand-in.

The stand-in's keyword agent calls ``check_balance`` for "balance", the ``handoff_to_fraud``
tool for "fraud", and answers tool results with ``"Done: <result>"``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bootstrap.testkit.runner import run_scenarios
from bootstrap.testkit.scenarios import load_scenarios
from parley.testing import conversation
from tests.emulators.openai_standin import OpenAIStandin, running_standin

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.standin]


@pytest.fixture(scope="module")
def standin() -> Iterator[OpenAIStandin]:
    with running_standin() as running:
        yield running


def configure(monkeypatch: pytest.MonkeyPatch, standin: OpenAIStandin, kind: str) -> str:
    """Point PARLEY_LLM at the stand-in; returns the request path the adapter must use."""
    for key in list(os.environ):
        if key.startswith(("PARLEY_", "AZURE_", "OPENAI_")):
            monkeypatch.delenv(key)
    if kind == "azure_openai":
        monkeypatch.setenv("PARLEY_LLM", "azure_openai")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", standin.azure_endpoint)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", standin.api_key)
        monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "bank-deployment")
        return "/openai/deployments/bank-deployment/chat/completions"
    monkeypatch.setenv("PARLEY_LLM", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", standin.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", standin.bearer_token)
    monkeypatch.setenv("OPENAI_MODEL", "local-model")
    return "/v1/chat/completions"


@pytest.mark.parametrize("kind", ["azure_openai", "openai"])
async def test_the_bank_conversation_runs_a_tool_and_a_handoff_on_the_configured_model(
    kind: str, standin: OpenAIStandin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    standin.reset()
    path = configure(monkeypatch, standin, kind)
    async with conversation(
        REPO / "agents", model="configured", env_file=tmp_path / "none.env"
    ) as convo:
        turn = await convo.user_says("what is my balance")
        turn.expect.next_event().is_tool_call("check_balance", result="2,450.75")
        turn.expect.next_event().is_speech(contains="Done:")
        turn.expect.no_handoff()
        turn = await convo.user_says("I want to report fraud")
        turn.expect.handoff_to("fraud")
        assert convo.agent == "fraud"
        assert any(e.agent == "fraud" for e in turn.events if e.kind == "speech")
    assert {r.path for r in standin.requests} == {path}
    # After the handoff the fraud agent answers with its own instructions and the history.
    last = standin.requests[-1].body
    assert [t["function"]["name"] for t in last["tools"]].count("report_fraud") == 1
    roles = [m["role"] for m in last["messages"]]
    assert roles[0] == "system" and "tool" in roles
    assert any(m.get("name") == "concierge" for m in last["messages"] if m["role"] == "assistant")


async def test_a_yaml_scenario_runs_on_the_configured_model(
    standin: OpenAIStandin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    standin.reset()
    configure(monkeypatch, standin, "openai")
    scenario = tmp_path / "keyword_agent.yaml"
    scenario.write_text(
        f"agents: {REPO / 'agents'}\n"
        "model: {temperature: 0, seed: 3}\n"
        "turns:\n"
        "  - caller: what is my balance\n"
        "    expect: {tool: check_balance, says: 'Done:'}\n"
        "  - caller: I want to report fraud\n"
        "    expect: {handoff: fraud}\n"
    )
    (run,) = await run_scenarios(
        load_scenarios(scenario), model="configured", env_file=tmp_path / "none.env"
    )
    assert run.passed, run.failure
    assert [t.latency_ms is not None for t in run.turns] == [True, True]
    # The scenario's model settings reach the endpoint.
    body = standin.requests[0].body
    assert (body.get("temperature"), body.get("seed")) == (0, 3)
