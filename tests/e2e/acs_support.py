"""Shared helpers of the ACS end-to-end tests: settings, WER, audio checks."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import struct
from pathlib import Path

from pydantic import SecretStr
from rapidfuzz.distance import Levenshtein

from bootstrap.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def local_tts_available() -> bool:
    try:
        import adapters.local.tts  # noqa: F401
    except ImportError:
        return False
    return True


def offline_settings(**providers: str) -> Settings:
    """The embedded default (local engines, offline dialog model, memory stores).

    The caller-facing TTS falls back to the fake one while adapters.local.tts is missing.
    """
    settings = load_settings(None)
    server = settings.server.model_copy(
        update={
            "agents_dir": REPO_ROOT / "agents",
            "log_level": os.environ.get("LOGLVL", "WARNING"),
        }
    )
    if not local_tts_available():
        providers.setdefault("tts", "fake")
    return dataclasses.replace(
        settings, server=server, providers=settings.providers.model_copy(update=providers)
    )


def standin_settings(endpoint: str, api_key: str, **providers: str) -> Settings:
    """:func:`offline_settings` with ``PARLEY_LLM=azure_openai`` at the local OpenAI stand-in."""
    base = offline_settings(llm="azure_openai", **providers)
    return dataclasses.replace(
        base,
        azure_openai=base.azure_openai.model_copy(
            update={
                "endpoint": endpoint,
                "api_key": SecretStr(api_key),
                "deployment": "bank-deployment",
            }
        ),
    )


def words(text: str) -> list[str]:
    return re.sub(r"[.,?!]", "", text.lower()).split()


def wer(reference: str, hypothesis: str) -> float:
    ref = words(reference)
    return Levenshtein.distance(ref, words(hypothesis)) / max(1, len(ref))


def rms_dbfs(pcm: bytes) -> float:
    n = len(pcm) // 2
    if n == 0:
        return -120.0
    samples = struct.unpack(f"<{n}h", pcm[: n * 2])
    mean = sum(s * s for s in samples) / n
    return 20 * math.log10(max(math.sqrt(mean), 1e-9) / 32768)


def speech_onset_ms(pcm: bytes, sample_rate: int, threshold_dbfs: float = -35.0) -> float:
    """Start of the first 20 ms frame louder than ``threshold_dbfs``."""
    size = sample_rate // 50 * 2
    for i in range(0, len(pcm) - size + 1, size):
        if rms_dbfs(pcm[i : i + size]) > threshold_dbfs:
            return i / 2 / sample_rate * 1000
    return 0.0
