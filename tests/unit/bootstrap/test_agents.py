"""Agent files: the example scenario loads; mistakes are named by file and field, all at once."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from adapters.local.dialog import SlotKind
from bootstrap.agents import AgentFileError, load_agents
from bootstrap.containers import tools_from_settings
from bootstrap.settings import load_settings
from ports import Voice

REPO = Path(__file__).resolve().parents[3]
BANK_TOOLS = frozenset(
    {
        "check_balance",
        "recent_transactions",
        "lock_card",
        "report_fraud",
        "transfer_to_human",
        "end_call",
    }
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text))
    return path


def test_the_shipped_bank_scenario_loads_into_a_valid_graph() -> None:
    loaded = load_agents(REPO / "agents", tool_names=BANK_TOOLS)
    graph = loaded.graph
    assert graph.start == "concierge"
    assert [a.name for a in graph.agents] == ["concierge", "fraud"]
    concierge = graph.get("concierge")
    assert concierge is not None
    assert "Parley Bank" in concierge.instructions  # Jinja variable from conversation.yaml
    assert concierge.handoffs[0].name == "fraud"
    assert concierge.model.agent == "concierge"
    assert loaded.policy.failures.transfer_target == "+14255550100"
    assert set(loaded.dialog_agents) == {"concierge", "fraud"}


def test_the_shipped_tools_module_registers_every_tool_the_agents_use(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    registry = tools_from_settings(load_settings(clean_env))
    assert registry.names() == BANK_TOOLS


def test_voice_is_chosen_for_the_selected_tts_provider() -> None:
    local = load_agents(REPO / "agents", tts_provider="local").graph.get("concierge")
    azure = load_agents(REPO / "agents", tts_provider="azure").graph.get("concierge")
    fake = load_agents(REPO / "agents", tts_provider="fake").graph.get("concierge")
    assert local is not None and azure is not None and fake is not None
    assert local.voice.name == "en-us"
    assert azure.voice.name == "en-US-AvaMultilingualNeural"
    assert fake.voice == Voice(name=None)


def test_intents_become_dialog_agents() -> None:
    concierge = load_agents(REPO / "agents").dialog_agents["concierge"]
    lock = next(i for i in concierge.intents if i.name == "lock_card")
    assert lock.tool == "lock_card"
    assert lock.slots[0].kind is SlotKind.DIGITS
    assert lock.slots[0].min_digits == 4
    assert concierge.threshold == 70
    fraud = next(i for i in concierge.intents if i.name == "fraud")
    assert fraud.handoff == "fraud"


def test_policy_overrides_apply_over_domain_defaults(tmp_path: Path) -> None:
    write(tmp_path, "solo.yaml", "greeting: hi\nbarge_in: {min_words: 2}\n")
    write(tmp_path, "conversation.yaml", "policy: {no_input: {max_reprompts: 5}}\n")
    loaded = load_agents(tmp_path)
    agent = loaded.graph.get("solo")
    assert agent is not None and agent.barge_in is not None
    assert agent.barge_in.min_words == 2
    assert agent.barge_in.min_speech_ms == 300  # the domain default, untouched
    assert loaded.policy.no_input.max_reprompts == 5
    assert loaded.policy.no_input.no_input_timeout_ms == 8000
    assert loaded.graph.start == "solo"  # one agent: it is the start


def test_an_agent_file_with_three_mistakes_reports_all_three(tmp_path: Path) -> None:
    write(
        tmp_path,
        "concierge.yaml",
        """\
        greeting: Hello
        greting_interruptible: false
        tools: [check_balance]
        barge_in:
          min_speech_ms: soon
        intents:
          - name: lock
            examples: [lock my card]
            tool: lock_card
            slots:
              - {name: last_four, kind: digitz}
        """,
    )
    with pytest.raises(AgentFileError) as info:
        load_agents(tmp_path, tool_names=frozenset({"check_balance", "lock_card"}))
    problems = info.value.problems
    path = str(tmp_path / "concierge.yaml")
    assert len(problems) == 3, problems
    assert all(p.startswith(path) for p in problems)
    joined = "\n".join(problems)
    assert "greting_interruptible: Extra inputs are not permitted" in joined
    assert "barge_in.min_speech_ms:" in joined
    assert "intents[0].slots[0].kind:" in joined


def test_cross_file_mistakes_are_reported_together_with_their_fields(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        """\
        tools: [check_balance, teleport]
        handoffs: [{agent: nobody, description: x}]
        intents:
          - {name: x, examples: [go], tool: lock_card}
          - {name: y, examples: [away], handoff: b}
        """,
    )
    write(tmp_path, "b.yaml", "instructions: 'Hello {{ missing_var }}'\n")
    write(tmp_path, "conversation.yaml", "start: a\n")
    with pytest.raises(AgentFileError) as info:
        load_agents(tmp_path, tool_names=frozenset({"check_balance", "lock_card"}))
    text = str(info.value)
    assert "a.yaml: tools[1]: unknown tool 'teleport'" in text
    assert "a.yaml: handoffs[0].agent: no agent named 'nobody'" in text
    assert "a.yaml: intents[0].tool: 'lock_card' is not in this agent's tools" in text
    assert "a.yaml: intents[1].handoff: 'b' is not in this agent's handoffs" in text
    assert "b.yaml: instructions: template error: 'missing_var' is undefined" in text


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "greeting: hi\ntools: [unclosed\n")
    with pytest.raises(AgentFileError, match=r"a\.yaml: line \d+: not valid YAML"):
        load_agents(tmp_path)


def test_more_than_one_agent_needs_a_start(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "greeting: hi\n")
    write(tmp_path, "b.yaml", "greeting: hi\n")
    with pytest.raises(AgentFileError, match="start: required"):
        load_agents(tmp_path)


def test_unreachable_agents_are_named_with_their_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "greeting: hi\n")
    write(tmp_path, "b.yaml", "greeting: hi\n")
    write(tmp_path, "conversation.yaml", "start: a\n")
    with pytest.raises(AgentFileError) as info:
        load_agents(tmp_path)
    assert any(
        p.startswith(str(tmp_path / "b.yaml")) and "reached" in p for p in info.value.problems
    )


def test_prompt_files_are_rendered_with_variables(tmp_path: Path) -> None:
    write(tmp_path, "prompts/a.j2", "You work for {{ company }} as {{ agent }}.")
    write(tmp_path, "a.yaml", "instructions_file: prompts/a.j2\n")
    write(tmp_path, "conversation.yaml", "variables: {company: Contoso}\n")
    agent = load_agents(tmp_path).graph.get("a")
    assert agent is not None
    assert agent.instructions == "You work for Contoso as a."


def test_a_missing_prompt_file_is_named(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "instructions_file: nowhere.j2\n")
    with pytest.raises(
        AgentFileError, match=r"a\.yaml: instructions_file: cannot read 'nowhere\.j2'"
    ):
        load_agents(tmp_path)


def test_unknown_voice_provider_is_named(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "voice: {local: en-us, polly: Joanna}\n")
    with pytest.raises(AgentFileError, match=r"a\.yaml: voice: .*unknown key 'polly'"):
        load_agents(tmp_path)


def test_a_missing_folder_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(AgentFileError, match="PARLEY_AGENTS_DIR"):
        load_agents(tmp_path / "none")


def test_the_dialog_threshold_setting_is_the_default_for_agents_without_one(
    tmp_path: Path,
) -> None:
    write(tmp_path, "a.yaml", "intents: [{name: hi, examples: [hello], reply: Hi}]\n")
    write(tmp_path, "b.yaml", "intent_threshold: 90\nhandoffs: [{agent: a}]\n")
    write(tmp_path, "conversation.yaml", "start: b\n")
    write(
        tmp_path,
        "a.yaml",
        "intents: [{name: hi, examples: [hello], reply: Hi}]\nhandoffs: [{agent: b}]\n",
    )
    loaded = load_agents(tmp_path, dialog_threshold=55)
    assert loaded.dialog_agents["a"].threshold == 55
    assert loaded.dialog_agents["b"].threshold == 90


def test_a_voice_string_names_one_voice_for_every_provider(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "voice: en-GB-RyanNeural\n")
    agent = load_agents(tmp_path, tts_provider="azure").graph.get("a")
    assert agent is not None
    assert agent.voice.name == "en-GB-RyanNeural"
