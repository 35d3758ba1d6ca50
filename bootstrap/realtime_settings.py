"""Realtime mode settings: ``PARLEY_REALTIME_*`` (the session) and ``AZURE_VOICELIVE_*``.

``PARLEY_PIPELINE=realtime`` (in :class:`~bootstrap.settings.ProviderSelection`) switches a
deployment from the speech cascade to one speech-to-speech session per call;
``PARLEY_REALTIME`` picks the service (``voicelive``, ``azure_openai``, ``openai``, ``fake``).
Azure OpenAI reuses ``AZURE_OPENAI_ENDPOINT`` / ``AZURE_OPENAI_API_KEY`` (or Microsoft Entra
through ``AZURE_OPENAI_MANAGED_IDENTITY_CLIENT_ID``); OpenAI reuses ``OPENAI_API_KEY`` /
``OPENAI_BASE_URL``. See docs/adr/0011-realtime-speech-to-speech.md.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from bootstrap import settings_checks as checks
from bootstrap.settings_base import SettingsGroup, group_config

TurnDetectionName = Literal["server", "server_vad", "semantic_vad", "azure_semantic_vad", "parley"]


class RealtimeSettings(SettingsGroup):
    """The realtime session, whatever the service (``PARLEY_PIPELINE=realtime``)."""

    prefix: ClassVar[str] = "PARLEY_REALTIME_"
    model_config = group_config(prefix)

    model: str = "gpt-realtime"
    """Model (Voice Live, OpenAI) or Azure OpenAI deployment name."""
    voice: str = ""
    """Service voice (``alloy``, ``marin``, ``en-US-AvaMultilingualNeural``); empty: the
    service's default. An agent file's ``realtime.voice`` overrides it."""
    turn_detection: TurnDetectionName = "server"
    """``server`` (Voice Live ``azure_semantic_vad``, OpenAI ``semantic_vad``), a service mode,
    or ``parley`` (the service's detection off; Parley's VAD commits each turn)."""
    vad_threshold: float | None = Field(default=None, ge=0, le=1)
    prefix_padding_ms: int | None = Field(default=None, ge=0)
    silence_duration_ms: int | None = Field(default=None, ge=0)
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    """``semantic_vad`` eagerness."""
    transcription_model: str = ""
    """Input transcription model; empty: ``azure-speech`` (Voice Live) or
    ``gpt-4o-mini-transcribe`` (OpenAI)."""
    language: str = ""
    """BCP-47 input language hint for transcription; empty: none."""
    noise_reduction: Literal["", "azure_deep_noise_suppression", "near_field", "far_field"] = ""
    """``azure_deep_noise_suppression`` (Voice Live), ``near_field`` or ``far_field``
    (OpenAI); empty: off."""
    echo_cancellation: bool = False
    """Voice Live's server echo cancellation (the agent's voice echoing on the line)."""
    max_reconnects: int = Field(default=3, ge=0)
    """Reconnect attempts after the service closes a session or the network drops."""
    connect_timeout_s: float = Field(default=10.0, gt=0)
    input_chunk_ms: int = Field(default=40, ge=20, le=200)
    """Caller audio per ``input_audio_buffer.append``, ms: fewer socket writes (CPU) against
    the service hearing speech that much later (benchmarks/bench_realtime.py)."""


class VoiceLiveSettings(SettingsGroup):
    """Azure Voice Live, for ``PARLEY_REALTIME=voicelive``."""

    prefix: ClassVar[str] = "AZURE_VOICELIVE_"
    model_config = group_config(prefix)

    endpoint: str = ""
    """``https://<resource>.services.ai.azure.com`` (or a local stand-in)."""
    api_key: SecretStr | None = None
    """Empty: Microsoft Entra ID (managed identity or DefaultAzureCredential)."""
    api_version: str = ""
    """Empty: the SDK's default."""
    managed_identity_client_id: str = ""
    """With no key: this user-assigned managed identity (empty: DefaultAzureCredential)."""

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        return checks.url(value, schemes=("http", "https", "ws", "wss"))


__all__ = ["RealtimeSettings", "TurnDetectionName", "VoiceLiveSettings"]
