"""Helpers for the offline-engine e2e tests: WER scoring and the terminal WER report."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein


def normalise(text: str) -> list[str]:
    """Words for scoring, as MANIFEST.md does: lowercased, with . , ? ! removed."""
    return re.sub(r"[.,?!]", "", text.lower()).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edit distance, reference word count)."""
    ref = normalise(reference)
    return Levenshtein.distance(ref, normalise(hypothesis)), len(ref)


@dataclass
class WerTable:
    """One table of the WER report: a row per clip or sentence, plus the pooled figure."""

    title: str
    rows: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    note: str = ""

    def add(self, name: str, reference: str, hypothesis: str) -> float:
        errors, words = word_errors(reference, hypothesis)
        self.rows.append((name, reference, hypothesis, errors, words))
        return errors / max(words, 1)

    @property
    def pooled(self) -> float:
        return sum(r[3] for r in self.rows) / max(sum(r[4] for r in self.rows), 1)

    def lines(self) -> list[str]:
        out = [self.title]
        out.append(f"  {'clip':34} {'WER':>5}  hypothesis")
        for name, _ref, hyp, errors, words in self.rows:
            out.append(f"  {name[:34]:34} {errors / max(words, 1):5.2f}  {hyp[:70]}")
        total_e = sum(r[3] for r in self.rows)
        total_w = sum(r[4] for r in self.rows)
        out.append(f"  {'pooled':34} {self.pooled:5.2f}  ({total_e}/{total_w} words) {self.note}")
        return out


WER_TABLES = pytest.StashKey[list[WerTable]]()
"""Where the e2e tests leave their WER tables for ``pytest_terminal_summary``."""


def report_tables(config: pytest.Config) -> list[WerTable]:
    """The session's list of WER tables (created on first use)."""
    return config.stash.setdefault(WER_TABLES, [])


def noises(seconds: float = 4.0) -> dict[str, np.ndarray]:
    """Noise-only signals at 16 kHz (float, full scale 1.0), seeded: no speech in any."""
    rng = np.random.default_rng(15)
    n = int(16000 * seconds)
    t = np.arange(n) / 16000
    white = rng.standard_normal(n)
    pink = np.cumsum(white)
    pink = (pink - np.convolve(pink, np.ones(64) / 64, mode="same")) / 8
    hum = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3, 5))
    crackle = np.where(rng.random(n) < 0.002, rng.standard_normal(n) * 10, 0.0)
    return {
        "digital silence": np.zeros(n),
        "line hiss (white, -50 dBFS)": white * 10 ** (-50 / 20),
        "white noise (-30 dBFS)": white * 10 ** (-30 / 20),
        "loud white noise (-15 dBFS)": white * 10 ** (-15 / 20),
        "pink noise (-25 dBFS)": pink / np.std(pink) * 10 ** (-25 / 20),
        "mains hum 50 Hz + harmonics (-20 dBFS)": hum / np.std(hum) * 10 ** (-20 / 20),
        "crackle on hiss": np.clip(crackle * 0.05 + white * 10 ** (-45 / 20), -1, 1),
    }
