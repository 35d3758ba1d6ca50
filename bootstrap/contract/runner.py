"""The factory behind ``--parley-contract PORT=MODULE:FACTORY``: load it, call it, check it.

The factory is a function (or coroutine function, or generator for set-up and tear-down)
importable as ``module:attribute`` from the current directory or the installed packages. Its
parameters are pytest fixtures resolved by name: ``tmp_path``, ``parley_clock`` (a
:class:`~adapters.memory.ManualClock`), ``parley_audio`` (:mod:`bootstrap.contract.audio`).
It returns the port's case object (``SpeechToTextCase`` for ``stt``...).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from bootstrap.contract.registry import PORTS

__all__ = ["ContractError", "build_case", "check_case", "load_factory"]


class ContractError(ValueError):
    """The port or the factory reference is wrong (the message says how)."""


def load_factory(ref: str) -> Callable[..., Any]:
    """The callable ``module:attribute`` names.

    Raises:
        ContractError: Malformed reference, module not importable, attribute missing.
    """
    module_name, sep, attribute = ref.partition(":")
    if not sep or not module_name or not attribute:
        raise ContractError(f"{ref!r}: expected MODULE:FACTORY (e.g. my_adapter.contract:case)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ContractError(f"{ref!r}: cannot import {module_name!r}: {exc}") from exc
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ContractError(f"{ref!r}: {module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ContractError(f"{ref!r}: {attribute} is not callable")
    return target  # type: ignore[no-any-return]


def build_case(port: str, ref: str, fixture: Callable[[str], Any]) -> Any:
    """Call the factory ``ref`` with its parameters resolved by ``fixture(name)``.

    Returns:
        The factory's result: a case, an awaitable of one, or a (async) generator yielding
        one; the plugin's fixture finishes the awaiting and tear-down.

    Raises:
        ContractError: Unknown port, or a bad reference.
    """
    if port not in PORTS:
        raise ContractError(f"unknown port {port!r} (ports: {', '.join(PORTS)})")
    factory = load_factory(ref)
    kwargs = {name: fixture(name) for name in inspect.signature(factory).parameters}
    return factory(**kwargs)


def check_case(port: str, case: Any) -> Any:
    """``case``, when it is the port's case type.

    Raises:
        ContractError: It is not (the message names the expected type).
    """
    expected = PORTS[port].case
    if not isinstance(case, expected):
        raise ContractError(
            f"the {port} factory returned {type(case).__name__}; the {port} suite needs a"
            f" {expected.__name__} (from parley.contract)"
        )
    return case
