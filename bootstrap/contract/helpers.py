"""Assertions shared by the contract suites."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from ports import AudioEncoding, AudioFormat, AudioFrame

__all__ = [
    "all_increasing",
    "collect",
    "no_task_leak",
    "normalise_words",
    "other_format",
    "silence",
    "word_error_rate",
]

_PUNCTUATION = re.compile(r"[.,?!;:\"]")


@asynccontextmanager
async def no_task_leak(timeout_s: float = 1.0) -> AsyncIterator[None]:
    """Fail when the block leaves a task running ``timeout_s`` after it ends.

    The grace period is a functional bound (work stops), not a latency assertion.
    """
    before = asyncio.all_tasks()
    yield
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        leaked = [t for t in asyncio.all_tasks() - before if not t.done()]
        if not leaked:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"tasks outlived the block: {[t.get_name() for t in leaked]}")
        await asyncio.sleep(0.005)


def normalise_words(text: str) -> list[str]:
    """Lowercase, drop . , ? ! ; : and quotes, split on whitespace (the manifest's rule)."""
    return _PUNCTUATION.sub("", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance over the reference length (1.0 for an empty hyp)."""
    ref = normalise_words(reference)
    hyp = normalise_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / len(ref)


def silence(fmt: AudioFormat, duration_ms: int, *, frame_ms: int = 20) -> list[AudioFrame]:
    """Digital silence in ``fmt`` (zeros for PCM16, 0xFF for mu-law)."""
    fill = b"\xff" if fmt.encoding is AudioEncoding.MULAW else b"\x00"
    size = fmt.frame_bytes(frame_ms)
    return [
        AudioFrame(fill * size, fmt, float(i * frame_ms)) for i in range(duration_ms // frame_ms)
    ]


def other_format(fmt: AudioFormat) -> AudioFormat:
    """A format different from ``fmt``."""
    return (
        AudioFormat(8000, 1, AudioEncoding.MULAW)
        if fmt.sample_rate_hz != 8000
        else (AudioFormat(16000))
    )


async def collect(iterator: AsyncIterator[object], timeout_s: float) -> list[object]:
    """Everything ``iterator`` yields, within ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        return [item async for item in iterator]


def all_increasing(values: Iterable[float]) -> bool:
    """True when ``values`` never decreases."""
    items = list(values)
    return all(a <= b for a, b in zip(items, items[1:], strict=False))
