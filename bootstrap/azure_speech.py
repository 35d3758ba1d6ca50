"""Factories for ``PARLEY_STT=azure`` and ``PARLEY_TTS=azure`` (selection table rows).

Both read the ``AZURE_SPEECH_*`` group (:class:`bootstrap.settings.AzureSpeechSettings`).
Location: ``AZURE_SPEECH_HOST`` (``ws(s)://host[:port]``, e.g. the local stand-in),
``AZURE_SPEECH_ENDPOINT`` (full recognition URL) or ``AZURE_SPEECH_REGION``. Auth: the key, or
Microsoft Entra (``DefaultAzureCredential``: managed identity, workload identity, CLI) when the
key is empty. The text-to-speech factory is a resource: it warms its synthesizer pool at start
(``AZURE_SPEECH_TTS_POOL_SIZE`` connections per call format) and closes it at shutdown.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ports import PCM16_16K, PCM16_24K, SpeechToText, TextToSpeech

if TYPE_CHECKING:
    from bootstrap.factories import BuildContext

logger = logging.getLogger(__name__)


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _auth(ctx: BuildContext) -> Any:
    from adapters.azure_speech import AzureSpeechAuth

    s = ctx.settings.azure_speech
    credential = None
    if s.key is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return AzureSpeechAuth(
        key=s.key.get_secret_value() if s.key is not None else None,
        region=s.region or None,
        endpoint=s.endpoint or None,
        host=s.host or None,
        credential=credential,
        resource_id=s.resource_id or None,
    )


def azure_stt(ctx: BuildContext) -> SpeechToText:
    """Azure AI Speech continuous recognition (``PARLEY_STT=azure``)."""
    from adapters.azure_speech import AzureSpeechToText, RecognitionOptions

    s = ctx.settings.azure_speech
    options = RecognitionOptions(
        language=s.language,
        candidate_languages=_split(s.candidate_languages),
        segmentation_silence_timeout_ms=s.segmentation_silence_timeout_ms,
        initial_silence_timeout_ms=s.initial_silence_timeout_ms,
        phrase_list=_split(s.phrase_list),
        profanity=s.profanity,
    )
    return AzureSpeechToText(_auth(ctx), options)


@contextlib.asynccontextmanager
async def azure_tts(ctx: BuildContext) -> AsyncIterator[TextToSpeech]:
    """Azure AI Speech synthesis (``PARLEY_TTS=azure``), pool warmed at start."""
    from adapters.azure_speech import AzureTextToSpeech, SynthesisOptions

    s = ctx.settings.azure_speech
    tts = AzureTextToSpeech(
        _auth(ctx),
        SynthesisOptions(
            default_voice=s.voice, pool_size=s.tts_pool_size, text_stream=s.text_stream
        ),
    )
    try:
        if s.tts_pool_size > 0:
            try:
                await tts.warm_up([PCM16_16K, PCM16_24K])
            except Exception as exc:  # a cold start is slower, not fatal
                logger.warning("azure tts: warm-up failed (%s); connecting on demand", exc)
        yield tts
    finally:
        await tts.aclose()
