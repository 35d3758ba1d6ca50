"""The pytest plugin, run in a pytest of its own: the `parley` fixture and the contract option."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO_ROOT
from tests.unit.testkit.conftest import BANK

pytest_plugins = ["pytester"]

ECHO_SRC = REPO_ROOT / "examples" / "echo-stt" / "src"
SELECTED = REPO_ROOT / "bootstrap" / "contract" / "selected.py"


# Pytest marks a plugin's whole distribution (Parley's packages) for assertion rewriting;
# this process imported them before the inner run's configuration, which pytest warns about.
QUIET = ("-W", "ignore::pytest.PytestAssertRewriteWarning")


def kit_tests(result: pytest.RunResult) -> int:
    """How many tests the run collected (``collected N items / ...``)."""
    found = re.search(r"collected (\d+) items", result.stdout.str())
    assert found, result.stdout.str()
    return int(found.group(1))


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    return pytester


def test_a_failed_expectation_prints_the_diff_and_the_whole_conversation(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        f"""
        import pytest

        @pytest.mark.parley(agents={str(BANK)!r}, model="offline")
        async def test_lock(parley):
            async with parley.conversation() as convo:
                await convo.user_says("what is my balance")
                turn = await convo.user_says("lock my card ending in 4242")
                turn.expect.tool_call("lock_card", args={{"last_four": "1234"}})

        async def test_voice_from_the_command_line(parley):
            async with parley.conversation({str(BANK)!r}, model="offline") as convo:
                assert convo.mode == "voice"
        """
    )
    result = inner.runpytest_inprocess(*QUIET, "--parley-mode", "voice")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*args.last_four: expected '1234', got '4242'",
            "*parley conversation*",
            '*turn 1 (voice) · caller: "what is my balance"*',
            '*turn 2 (voice) · caller: "lock my card ending in 4242"*',
        ]
    )


def test_the_contract_option_runs_a_ports_suite_on_a_factorys_case(
    inner: pytest.Pytester,
) -> None:
    inner.syspathinsert(ECHO_SRC)
    passed = inner.runpytest_inprocess(
        *QUIET, str(SELECTED), "--parley-contract", "stt=echo_stt.contract:stt_case"
    )
    # Every port's suite is collected; all but the speech-to-text one are deselected.
    others = kit_tests(passed) - 8
    assert others > 0
    passed.assert_outcomes(passed=8, deselected=others)
    broken = inner.runpytest_inprocess(
        *QUIET, str(SELECTED), "--parley-contract", "stt=echo_stt.contract:broken_stt_case"
    )
    broken.assert_outcomes(passed=7, failed=1, deselected=others)
    broken.stdout.fnmatch_lines(
        ["*broken promise*", "ports.SpeechToText: events are ordered and offsets are milliseconds"]
    )
