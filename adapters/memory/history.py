"""The bounded "what happened" lists the fakes keep for assertions.

The fakes serve ``parley serve`` with ``PARLEY_STT=fake`` and friends as well as tests, so
what they remember must not grow with every call: each list keeps its most recent entries
only (bench_soak measured ~4.5 MB per 1,000 calls when they kept everything).
"""

from __future__ import annotations

from typing import Final, TypeVar

T = TypeVar("T")

DEFAULT_HISTORY: Final = 100
"""Entries a fake remembers by default: far more than any test inspects."""


def remember(items: list[T], item: T, limit: int) -> None:
    """Append ``item`` to ``items``, forgetting the oldest entries beyond ``limit``."""
    items.append(item)
    if len(items) > limit:
        del items[: len(items) - limit]


def check_history(limit: int) -> int:
    """Return ``limit``.

    Raises:
        ValueError: ``limit`` is below 1.
    """
    if limit < 1:
        raise ValueError(f"history must be at least 1, got {limit}")
    return limit
