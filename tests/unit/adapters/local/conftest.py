"""Fixtures for the offline engine tests: one engine of each kind per module."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from adapters.local.stt import PocketsphinxSpeechToText
from adapters.local.tts import EspeakTextToSpeech


@pytest.fixture(scope="module")
def pocketsphinx_stt() -> Iterator[PocketsphinxSpeechToText]:
    """A pocketsphinx engine whose idle decoder processes are stopped after the module."""
    engine = PocketsphinxSpeechToText()
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture(scope="module")
def espeak_tts() -> Iterator[EspeakTextToSpeech]:
    """One espeak-ng instance per module (the library's state is process-wide)."""
    engine = EspeakTextToSpeech()
    yield engine
    asyncio.run(engine.aclose())
