"""The pytest plugin (entry point ``parley`` in ``pytest11``): conversations and the contract kit.

Installed with Parley, it gives every pytest run:

* the ``parley`` fixture, a factory of test conversations closed at the end of the test::

      async def test_card_lock(parley):
          async with parley.conversation() as convo:
              turn = await convo.user_says("lock my card ending in 4242")
              turn.expect.tool_call("lock_card", args={"last_four": "4242"})

  Its defaults come from the ``@pytest.mark.parley(agents=..., model=..., mode=...)`` marker,
  then the ``--parley-agents`` / ``--parley-model`` / ``--parley-mode`` options, then the
  ``parley_agents`` / ``parley_model`` / ``parley_mode`` ini keys (``agents``,
  ``configured``, ``text``);
* on a failed test, the whole of each conversation so far as a report section;
* on a failed contract-kit test, the promise the adapter broke as a report section;
* ``--parley-contract PORT=MODULE:FACTORY``, which runs a port's kit suite on the case the
  factory returns (what ``parley contract`` runs).

Nothing heavy is imported until a fixture is used.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bootstrap.testkit.conversation import TestConversation

__all__ = [
    "ConversationFactory",
    "parley",
    "parley_audio",
    "parley_clock",
    "parley_contract_case",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
]

_FACTORY = pytest.StashKey["ConversationFactory"]()

# The kit's suites are test code in a package: register them for pytest's assertion
# rewriting (detailed assert messages) before anything imports them; plugins load first.
pytest.register_assert_rewrite("bootstrap.contract.suites")


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``parley`` option group and ini keys."""
    group = parser.getgroup("parley", "Parley conversation tests and contract kit")
    group.addoption("--parley-agents", default=None, help="agents folder of `parley` conversations")
    group.addoption(
        "--parley-model",
        default=None,
        choices=("offline", "configured"),
        help="language model of `parley` conversations (configured: PARLEY_LLM from .env)",
    )
    group.addoption("--parley-mode", default=None, help="text or voice")
    group.addoption("--parley-env-file", default=None, help="dotenv file for the configured model")
    group.addoption(
        "--parley-contract",
        action="append",
        default=[],
        metavar="PORT=MODULE:FACTORY",
        help="run PORT's contract suite on the case FACTORY returns (see `parley contract`)",
    )
    parser.addini("parley_agents", "agents folder of `parley` conversations", default="agents")
    parser.addini("parley_model", "offline or configured", default="configured")
    parser.addini("parley_mode", "text or voice", default="text")


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers."""
    config.addinivalue_line(
        "markers",
        "parley(agents=None, model=None, mode=None, **options): settings of the conversations"
        " the `parley` fixture opens in this test",
    )


class ConversationFactory:
    """What the ``parley`` fixture gives: opens conversations with the test's defaults.

    Attributes:
        defaults: Keyword arguments of every conversation (agents, model, mode, env_file).
        conversations: Every conversation opened in this test.
    """

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.conversations: list[TestConversation] = []

    def conversation(self, agents: Any = None, **options: Any) -> TestConversation:
        """A :class:`~bootstrap.testkit.conversation.TestConversation` (use ``async with``).

        Args:
            agents: The agents folder; the test's default when omitted.
            **options: :class:`TestConversation` options over the test's defaults.
        """
        from bootstrap.testkit.conversation import TestConversation

        settings = {**self.defaults, **options}
        folder = agents if agents is not None else settings.pop("agents")
        settings.pop("agents", None)
        convo = TestConversation(folder, **settings)
        self.conversations.append(convo)
        return convo


def _defaults(request: pytest.FixtureRequest) -> dict[str, Any]:
    config = request.config
    defaults: dict[str, Any] = {
        "agents": config.getoption("--parley-agents") or config.getini("parley_agents"),
        "model": config.getoption("--parley-model") or config.getini("parley_model"),
        "mode": config.getoption("--parley-mode") or config.getini("parley_mode"),
    }
    env_file = config.getoption("--parley-env-file")
    if env_file:
        defaults["env_file"] = env_file
    marker = request.node.get_closest_marker("parley")
    if marker is not None:
        defaults.update(marker.kwargs)
    return defaults


@pytest.fixture
def parley(request: pytest.FixtureRequest) -> Iterator[ConversationFactory]:
    """A factory of test conversations (``parley.conversation(...)``); see the module doc."""
    factory = ConversationFactory(_defaults(request))
    request.node.stash[_FACTORY] = factory
    yield factory


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """On failure: add each conversation's transcript, or the contract promise broken."""
    outcome: Any = yield
    report = outcome.get_result()
    if not report.failed:
        return
    factory = item.stash.get(_FACTORY, None)
    if factory is not None:
        for convo in factory.conversations:
            report.sections.append(("parley conversation", convo.transcript()))
    promise = _promise(item)
    if promise is not None and report.when == "call":
        report.sections.append(("broken promise", promise))


def _promise(item: pytest.Item) -> str | None:
    cls = getattr(item, "cls", None)
    if cls is None:
        return None
    from bootstrap.contract.suite import ContractSuite, promise_of

    if not issubclass(cls, ContractSuite):
        return None
    function = getattr(item, "function", None)
    return promise_of(cls, item.name, inspect.getdoc(function) if function else None)


# -- the contract kit from the command line ---------------------------------------------


def _selected(config: pytest.Config) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for value in config.getoption("--parley-contract") or []:
        port, sep, ref = value.partition("=")
        if not sep or ":" not in ref:
            raise pytest.UsageError(f"--parley-contract {value!r}: expected PORT=MODULE:FACTORY")
        chosen[port.strip()] = ref.strip()
    return chosen


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only the selected ports' tests of the kit's runner module."""
    chosen = _selected(config)
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    offered: set[str] = set()
    for item in items:
        port = getattr(getattr(item, "cls", None), "selected_port", None)
        if port is not None:
            offered.add(port)
        (drop if port is not None and port not in chosen else keep).append(item)
    unknown = sorted(set(chosen) - offered) if offered else []
    if unknown:
        raise pytest.UsageError(
            f"--parley-contract: unknown port(s) {', '.join(unknown)}"
            f" (ports: {', '.join(sorted(offered))})"
        )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
async def parley_contract_case(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The case the ``--parley-contract`` factory of this test's port returns.

    The factory's parameters are resolved as fixtures by name (``tmp_path``, and the kit's
    ``parley_clock`` and ``parley_audio``); it may be a coroutine function, or a (async)
    generator that yields the case and then tears the adapter down.
    """
    from bootstrap.contract.runner import build_case, check_case

    port = str(getattr(request.cls, "selected_port", None))
    ref = _selected(request.config).get(port)
    if ref is None:
        pytest.skip(f"no --parley-contract factory for port {port}")
    made = build_case(port, ref, request.getfixturevalue)
    if inspect.isasyncgen(made):
        yield check_case(port, await made.__anext__())
        await made.aclose()
    elif inspect.isgenerator(made):
        yield check_case(port, next(made))
        made.close()
    else:
        yield check_case(port, await made if inspect.isawaitable(made) else made)


@pytest.fixture
def parley_clock() -> Any:
    """A fresh :class:`adapters.memory.ManualClock` for a contract case."""
    from adapters.memory import ManualClock

    return ManualClock()


@pytest.fixture
def parley_audio() -> Any:
    """Audio helpers for contract cases (:mod:`bootstrap.contract.audio`)."""
    from bootstrap.contract import audio

    return audio
