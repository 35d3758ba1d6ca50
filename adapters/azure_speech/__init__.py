"""Azure AI Speech adapters: streaming speech-to-text and text-to-speech over the Speech SDK.

What belongs here: :class:`AzureSpeechToText` (``ports.SpeechToText``) and
:class:`AzureTextToSpeech` (``ports.TextToSpeech``), their settings (:class:`AzureSpeechAuth`,
:class:`RecognitionOptions`, :class:`SynthesisOptions`), SSML building, the SDK-thread to
event-loop bridge and the translation of SDK cancellations into port errors. They import
``ports``, :mod:`adapters.audio`, the SDK (``pip install 'parley[azure]'``, pinned to 1.53.0)
and tenacity; never ``domain`` or ``bootstrap``.

Offline, they are tested against ``tests/emulators/speech_standin.py``, a local server that
speaks the Speech WebSocket protocol to the real SDK.
"""

from adapters.azure_speech._sdk import SDK_VERSION
from adapters.azure_speech.config import AzureSpeechAuth
from adapters.azure_speech.errors import translate_cancellation
from adapters.azure_speech.stt import AzureRecognitionSession, AzureSpeechToText, RecognitionOptions
from adapters.azure_speech.tts import AzureTextToSpeech, SynthesisOptions

__all__ = [
    "SDK_VERSION",
    "AzureRecognitionSession",
    "AzureSpeechAuth",
    "AzureSpeechToText",
    "AzureTextToSpeech",
    "RecognitionOptions",
    "SynthesisOptions",
    "translate_cancellation",
]
