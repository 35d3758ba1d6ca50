"""The base of every port's contract suite, and how a failed test names its broken promise.

A suite is a class of test methods over one *case* fixture (``stt_case``, ``store_case``...)
that the subclass provides: Parley's own ``tests/contract/test_<port>.py`` parametrizes it over
every adapter of the port; an adapter outside the repository subclasses the same suite with
its own case (see ``docs/testing.md``, "The contract kit"). Pytest collects only subclasses
named ``Test...``; the suites themselves are never collected.

Each test method's name (or first docstring line, when it has one) is the promise it checks:
``test_push_after_close_raises_stream_closed`` promises "push after close raises stream
closed". The pytest plugin adds that promise to a failed test's report.
"""

from __future__ import annotations

from typing import ClassVar


class ContractSuite:
    """Base class of the port suites.

    Attributes:
        port: The port's key (``stt``, ``session_store``...; see
            :data:`bootstrap.contract.registry.PORTS`).
        protocol: The Protocol the suite checks, e.g. ``ports.SpeechToText``.
        case_fixture: Name of the fixture a subclass must define, returning the port's case.
    """

    port: ClassVar[str] = ""
    protocol: ClassVar[str] = ""
    case_fixture: ClassVar[str] = ""


def promise_of(suite: type[ContractSuite], test_name: str, doc: str | None) -> str:
    """The promise a suite's test checks, as one sentence naming the port.

    Args:
        suite: The suite class (or a subclass).
        test_name: The test method's name (``test_...``; parametrization ids are dropped).
        doc: The method's docstring, if any: its first line wins over the name.

    Returns:
        ``"<protocol>: <promise>"``, e.g. ``"ports.SpeechToText: silence gives no final"``.
    """
    first = (doc or "").strip().splitlines()[0].strip() if (doc or "").strip() else ""
    words = test_name.split("[", 1)[0].removeprefix("test_").replace("_", " ")
    return f"{suite.protocol or suite.__name__}: {first.rstrip('.') or words}"
