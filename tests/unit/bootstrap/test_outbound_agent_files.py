"""Agent files: the outbound, warm-transfer and DTMF keys, the outbound policy, call variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.agents import AgentFileError, load_agents


def folder(tmp_path: Path, agent: str, conversation: str = "") -> Path:
    (tmp_path / "caller.yaml").write_text(agent)
    if conversation:
        (tmp_path / "conversation.yaml").write_text(conversation)
    return tmp_path


def test_outbound_and_transfer_keys_reach_the_agent(tmp_path: Path) -> None:
    loaded = load_agents(
        folder(
            tmp_path,
            "greeting: Hi {{ name }}.\n"
            "voicemail_message: Call us back, {{ name }}.\n"
            "warm_transfer: true\ntransfer_summary: model\n"
            "transfer_unanswered: Nobody is free.\ndtmf_recognize: true\n",
            "variables:\n  name: there\npolicy:\n  outbound:\n    first_speech_timeout_ms: 1500\n"
            "    machine_phrases: [leave a message]\n",
        )
    )
    agent = loaded.graph.agents[0]
    assert (agent.greeting, agent.voicemail_message) == ("Hi there.", "Call us back, there.")
    assert agent.warm_transfer and agent.transfer_summary == "model" and agent.dtmf_recognize
    assert agent.transfer_unanswered == "Nobody is free."
    outbound = loaded.policy.outbound
    assert outbound.first_speech_timeout_ms == 1500
    assert outbound.machine_phrases == ("leave a message",)


def test_call_variables_override_the_conversation_defaults(tmp_path: Path) -> None:
    path = folder(tmp_path, "greeting: Hi {{ name }}.\n", "variables:\n  name: there\n")
    loaded = load_agents(path, extra_variables={"name": "Ana"})
    assert loaded.graph.agents[0].greeting == "Hi Ana."


def test_a_bad_summary_mode_names_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(AgentFileError) as bad:
        load_agents(folder(tmp_path, "transfer_summary: poem\n"))
    assert "caller.yaml: transfer_summary" in str(bad.value)
