"""Shared pieces of the outbound, warm-transfer and DTMF end-to-end tests (fake engines)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from dependency_injector import providers
from pydantic import SecretStr

from adapters.memory import (
    FakeSpeechToText,
    FakeTextToSpeech,
    FakeVadFactory,
    ScriptedLanguageModel,
)
from bootstrap.containers import ApplicationContainer
from bootstrap.settings import Settings
from ports import AudioFormat

from .acs_support import offline_settings

OPERATOR_KEY = "operator-key-for-tests"
AUTH = {"Authorization": f"Bearer {OPERATOR_KEY}"}

AGENT = """
name: caller
instructions: You call {{ name }} about their card.
greeting: Hi {{ name }}, this is Parley Bank calling about your card.
voicemail_message: Hi {{ name }}, Parley Bank here. Please call us back. Goodbye.
transfer_line: Let me get a colleague.
tools: [transfer_to_human]
"""

TOOLS = '''
from ports import TransferCall


def register_tools(registry):
    @registry.tool
    def transfer_to_human(reason: str = "asked for a person") -> TransferCall:
        """Transfer the caller to a person."""
        return TransferCall("+14255550100", reason)
'''


def agents_dir(tmp: Path, **extra: object) -> Path:
    """A one-agent folder (``caller``); ``extra`` keys are appended to its file."""
    folder = tmp / "agents"
    folder.mkdir(exist_ok=True)
    lines = "".join(f"{key}: {value}\n" for key, value in extra.items())
    (folder / "caller.yaml").write_text(AGENT + lines)
    (folder / "tools.py").write_text(TOOLS)
    # Defaults for the template variables: a call placed without them still renders.
    (folder / "conversation.yaml").write_text("variables:\n  name: there\n")
    return folder


def settings_for(folder: Path, **providers_: str) -> Settings:
    settings = offline_settings(stt="fake", tts="fake", llm="fake", vad="fake", **providers_)
    server = settings.server.model_copy(
        update={"agents_dir": folder, "operator_key": SecretStr(OPERATOR_KEY)}
    )
    outbound = settings.outbound.model_copy(update={"calls_per_second": 20.0})
    return dataclasses.replace(settings, server=server, outbound=outbound)


def fakes(
    heard: Sequence[str], model: ScriptedLanguageModel | None = None
) -> Callable[[ApplicationContainer], None]:
    def configure(container: ApplicationContainer) -> None:
        container.adapters.stt.override(providers.Object(FakeSpeechToText(list(heard))))
        container.adapters.vad_factory.override(providers.Object(FakeVadFactory()))
        container.adapters.tts.override(providers.Object(FakeTextToSpeech(ms_per_char=8)))
        if model is not None:
            container.adapters.llm.override(providers.Object(model))

    return configure


def noise(fmt: AudioFormat, ms: int, level: float = 6000.0) -> bytes:
    """Loud noise: speech to the fake engines, no beep to the beep detector."""
    n = fmt.sample_rate_hz * ms // 1000
    return np.random.default_rng(7).normal(0, level, n).clip(-32000, 32000).astype("<i2").tobytes()


def beep(fmt: AudioFormat, ms: int = 600, hz: float = 1000.0) -> bytes:
    t = np.arange(fmt.sample_rate_hz * ms // 1000) / fmt.sample_rate_hz
    return (8000 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()


async def until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def place(base_url: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(base_url + "/api/calls", json=body, headers=AUTH)


async def result_of(base_url: str, dial_id: str, timeout: float = 20.0) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:

        async def final() -> dict[str, Any] | None:
            response = await http.get(f"{base_url}/api/outbound-calls/{dial_id}", headers=AUTH)
            data: dict[str, Any] = response.json()
            return data if data.get("final") else None

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            data = await final()
            if data is not None:
                return data
            assert loop.time() < deadline, "the outbound call never got a final outcome"
            await asyncio.sleep(0.1)
