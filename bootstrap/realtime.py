"""Realtime mode's wiring: the model factories, the runtime choice and ACS at 24 kHz.

* ``PARLEY_PIPELINE=realtime`` makes the driving port a
  :class:`~domain.runtime.realtime.RealtimeCallRuntime` over the ``PARLEY_REALTIME`` model;
  ``cascade`` (the default) keeps :class:`~domain.runtime.CallRuntime`. One setting, the
  same agent files, tools, stores and telephony.
* The realtime model is a container Resource (:func:`realtime_resource`) that opens nothing
  in cascade mode, so a cascade deployment needs no realtime keys.
* ACS is answered at ``pcm24KMono`` in realtime mode (:func:`effective_acs`): both services
  speak 24 kHz PCM16, so audio passes without resampling.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from bootstrap.factories import BuildContext, open_adapter
from bootstrap.settings import AcsSettings, Settings
from domain.runtime import CallRuntime, RuntimeConfig, RuntimeDeps
from domain.runtime.realtime import RealtimeAgentOptions, RealtimeCallRuntime, RealtimeDeps
from domain.session import Conversation
from ports import CallHandler
from ports.realtime import RealtimeConfig, RealtimeModel, TurnDetection, TurnDetectionOptions

if TYPE_CHECKING:
    from bootstrap.agents import LoadedAgents

logger = logging.getLogger(__name__)


def is_realtime(settings: Settings) -> bool:
    """True with ``PARLEY_PIPELINE=realtime``."""
    return settings.providers.pipeline == "realtime"


def effective_acs(settings: Settings) -> AcsSettings:
    """The ``ACS_`` group as served: ``pcm24KMono`` in realtime mode."""
    if is_realtime(settings) and settings.acs.audio_format != "pcm24KMono":
        return settings.acs.model_copy(update={"audio_format": "pcm24KMono"})
    return settings.acs


def base_config(settings: Settings) -> RealtimeConfig:
    """The deployment's session configuration (``PARLEY_REALTIME_*``)."""
    rt = settings.realtime
    return RealtimeConfig(
        voice=rt.voice or None,
        turn_detection=TurnDetectionOptions(
            TurnDetection(rt.turn_detection),
            threshold=rt.vad_threshold,
            prefix_padding_ms=rt.prefix_padding_ms,
            silence_duration_ms=rt.silence_duration_ms,
            eagerness=rt.eagerness,
        ),
        transcription_model=rt.transcription_model or None,
        language=rt.language or None,
        noise_reduction=rt.noise_reduction or None,
        echo_cancellation=rt.echo_cancellation,
    )


def agent_options(agents: LoadedAgents) -> Mapping[str, RealtimeAgentOptions]:
    """Each agent's realtime options, from its agent file's ``realtime`` section."""
    out: dict[str, RealtimeAgentOptions] = {}
    for name, section in agents.realtime.items():
        detection = None
        if section.turn_detection is not None:
            detection = TurnDetectionOptions(
                TurnDetection(section.turn_detection),
                threshold=section.vad_threshold,
                silence_duration_ms=section.silence_duration_ms,
                eagerness=section.eagerness,
            )
        out[name] = RealtimeAgentOptions(voice=section.voice, turn_detection=detection)
    return out


async def realtime_resource(ctx: BuildContext) -> AsyncIterator[RealtimeModel | None]:
    """Container Resource: the selected realtime model in realtime mode, else None."""
    if not is_realtime(ctx.settings):
        yield None
        return
    async for model in open_adapter("realtime", ctx):
        yield model


def build_call_runtime(
    settings: Settings,
    conversation: Conversation,
    deps: RuntimeDeps,
    config: RuntimeConfig,
    model: RealtimeModel | None,
    agents: LoadedAgents,
) -> CallHandler:
    """The driving port for ``PARLEY_PIPELINE``: the cascade's runtime or the realtime one."""
    if not is_realtime(settings) or model is None:
        return CallRuntime(conversation, deps, config)
    realtime = RealtimeDeps(model, base_config(settings), agent_options(agents))
    return RealtimeCallRuntime(conversation, deps, realtime, config)


# --- factories (selection table rows of the "realtime" port) -----------------------------


def fake_realtime(ctx: BuildContext) -> RealtimeModel:
    """The deterministic fake (``PARLEY_REALTIME=fake``).

    It thinks with the offline dialog model over the agent files, so it answers as
    ``PARLEY_LLM=offline`` does.
    """
    from adapters.memory.realtime import FakeRealtimeModel

    return FakeRealtimeModel(responder=dialog_responder(ctx.agents))


def dialog_responder(agents: LoadedAgents) -> Any:
    """A fake realtime model's responder: the offline dialog model.

    The agent is the one whose instructions the session carries.
    """
    from adapters.local.dialog import OfflineDialogModel
    from adapters.memory.realtime import FakeReply
    from ports import ModelOptions, TextDelta, ToolCallsRequested

    model = OfflineDialogModel(agents.dialog_agents, default_agent=agents.graph.start)
    by_instructions = {a.instructions: a.name for a in agents.graph.agents}

    async def respond(history: Any, config: RealtimeConfig) -> FakeReply:
        agent = by_instructions.get(config.instructions, agents.graph.start)
        text: list[str] = []
        calls: list[Any] = []
        async for event in model.stream(history, config.tools, ModelOptions(agent=agent)):
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ToolCallsRequested):
                calls.extend(event.calls)
        return FakeReply("".join(text).strip(), tuple(calls))

    return respond


def _entra_credential(client_id: str) -> Any:
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


@contextlib.asynccontextmanager
async def voicelive_realtime(ctx: BuildContext) -> AsyncIterator[RealtimeModel]:
    """Azure Voice Live (``PARLEY_REALTIME=voicelive``): key, or Microsoft Entra ID."""
    from azure.core.credentials import AzureKeyCredential

    from adapters.realtime.voicelive import VoiceLiveRealtimeModel

    vl, rt = ctx.settings.voicelive, ctx.settings.realtime
    key = vl.api_key.get_secret_value() if vl.api_key else ""
    credential = (
        AzureKeyCredential(key) if key else _entra_credential(vl.managed_identity_client_id)
    )
    model = VoiceLiveRealtimeModel(
        vl.endpoint,
        credential,
        rt.model,
        api_version=vl.api_version,
        connect_timeout_s=rt.connect_timeout_s,
        max_reconnects=rt.max_reconnects,
        input_chunk_ms=rt.input_chunk_ms,
    )
    try:
        yield model
    finally:
        await model.aclose()


@contextlib.asynccontextmanager
async def openai_realtime(ctx: BuildContext) -> AsyncIterator[RealtimeModel]:
    """OpenAI Realtime (``PARLEY_REALTIME=openai``): ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``."""
    from openai import AsyncOpenAI

    from adapters.realtime.openai import OpenAIRealtimeModel

    oa, rt = ctx.settings.openai, ctx.settings.realtime
    client = AsyncOpenAI(
        api_key=oa.api_key.get_secret_value() if oa.api_key else "unused",
        base_url=oa.base_url or None,
    )
    model = OpenAIRealtimeModel(
        client,
        rt.model,
        connect_timeout_s=rt.connect_timeout_s,
        max_reconnects=rt.max_reconnects,
        input_chunk_ms=rt.input_chunk_ms,
    )
    try:
        yield model
    finally:
        await model.aclose()


@contextlib.asynccontextmanager
async def azure_openai_realtime(ctx: BuildContext) -> AsyncIterator[RealtimeModel]:
    """Azure OpenAI Realtime, GA path (``PARLEY_REALTIME=azure_openai``): key or Entra."""
    from openai import AsyncOpenAI

    from adapters.realtime.openai import OpenAIRealtimeModel

    az, rt = ctx.settings.azure_openai, ctx.settings.realtime
    key: Any = az.api_key.get_secret_value() if az.api_key else None
    credential = None
    if not key:
        from azure.identity.aio import get_bearer_token_provider

        credential = _entra_credential(az.managed_identity_client_id)
        key = get_bearer_token_provider(credential, "https://cognitiveservices.azure.com/.default")
    client = AsyncOpenAI(api_key=key, base_url=az.endpoint.rstrip("/") + "/openai/v1")
    model = OpenAIRealtimeModel(
        client,
        rt.model,
        name="azure_openai",
        connect_timeout_s=rt.connect_timeout_s,
        max_reconnects=rt.max_reconnects,
        input_chunk_ms=rt.input_chunk_ms,
    )
    try:
        yield model
    finally:
        await model.aclose()
        if credential is not None:
            await credential.close()


def with_pipeline(settings: Settings, pipeline: str, **providers: str) -> Settings:
    """``settings`` with ``PARLEY_PIPELINE`` (and other provider values) replaced."""
    update: dict[str, Any] = {"pipeline": pipeline, **providers}
    return dataclasses.replace(settings, providers=settings.providers.model_copy(update=update))


__all__ = [
    "agent_options",
    "base_config",
    "build_call_runtime",
    "effective_acs",
    "is_realtime",
    "realtime_resource",
    "with_pipeline",
]
