"""``parley call --telephony twilio``: one inbound Twilio call through the local Twilio emulator.

The emulator plays Twilio: it posts the signed Voice webhook, the server answers with
``<Connect><Stream>``, the emulator connects the Media Stream and speaks the caller's turns as
8 kHz mu-law; the agent's audio is played out at real time honouring ``mark`` and ``clear``.
The server runs in-process with ``PARLEY_TELEPHONY=twilio`` and ``TWILIO_*`` pointed at the
emulator, signatures checked. Outputs are those of the ACS ``parley call``
(:mod:`bootstrap.call_command`), at 8 kHz.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.acs_emulator.scenario import CallerTurn
from adapters.acs_emulator.server import free_port
from adapters.acs_emulator.serving import serve_app
from adapters.twilio_emulator.media_client import PCM8K
from adapters.twilio_emulator.scenario import run_twilio_call
from adapters.twilio_emulator.server import TwilioEmulator
from bootstrap.call_command import (
    DEMO_CALLER_LINES,
    CallReport,
    read_transcript,
    synthesize_turns,
    wav_turns,
)
from bootstrap.containers import ApplicationContainer, build_container, resolve
from bootstrap.settings import Settings
from ports import AudioFormat


@dataclass(slots=True)
class TwilioStack:
    """A Twilio emulator and the in-process server it calls.

    Attributes:
        emulator: The started emulator.
        base_url: The server's base URL.
        container: The server's container.
        settings: The settings the server runs with.
    """

    emulator: TwilioEmulator
    base_url: str
    container: ApplicationContainer
    settings: Settings

    @property
    def voice_url(self) -> str:
        """The server's Voice webhook."""
        return self.base_url + "/api/twilio/voice"

    @property
    def format(self) -> AudioFormat:
        """The caller line's format: 8 kHz PCM16 (mu-law on the wire)."""
        return PCM8K


def twilio_settings(settings: Settings, emulator: TwilioEmulator, base_url: str) -> Settings:
    """``settings`` with ``PARLEY_TELEPHONY=twilio`` and ``TWILIO_*`` pointed at ``emulator``."""
    from pydantic import SecretStr

    twilio = settings.twilio.model_copy(
        update={
            "account_sid": emulator.account_sid,
            "auth_token": SecretStr(emulator.auth_token),
            "phone_number": "+14255550199",
            "public_base_url": base_url,
            "api_base_url": emulator.api_base_url,
            "validate_signatures": True,
        }
    )
    providers = settings.providers.model_copy(update={"telephony": "twilio"})
    return dataclasses.replace(settings, twilio=twilio, providers=providers)


@contextlib.asynccontextmanager
async def open_twilio_stack(
    settings: Settings,
    *,
    configure: Callable[[ApplicationContainer], None] | None = None,
    warm_decoders: int = 1,
    **emulator_options: Any,
) -> AsyncIterator[TwilioStack]:
    """Start the Twilio emulator and an in-process server that trusts it.

    Args:
        settings: Base settings (adapters, agents); ``TWILIO_*`` is replaced.
        configure: Called with the container before the app is built (test overrides).
        warm_decoders: Speech-to-text decoders to start before the call (``warm_up``).
        emulator_options: Passed to :class:`TwilioEmulator`.
    """
    async with TwilioEmulator(**emulator_options) as emulator:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        local = twilio_settings(settings, emulator, base_url)
        container = build_container(local)
        if configure is not None:
            configure(container)
        from bootstrap.app import create_app

        app = create_app(container)
        async with serve_app(app, port=port, lifespan="on", start_timeout_s=60.0):
            stt = await resolve(container.adapters.stt)
            warm_up = getattr(stt, "warm_up", None)
            if warm_up is not None and warm_decoders > 0:
                await warm_up(warm_decoders)
            yield TwilioStack(emulator, base_url, container, local)


async def place_twilio_call(
    stack: TwilioStack,
    turns: Sequence[CallerTurn],
    *,
    speed: float = 1.0,
    progress: Callable[[str], None] | None = None,
    transcript_wait_s: float = 8.0,
    **scenario_options: Any,
) -> CallReport:
    """Run one inbound Twilio call on ``stack``; a ``CallReport`` with the server's transcript."""
    result = await run_twilio_call(
        stack.emulator, stack.voice_url, turns, speed=speed, progress=progress, **scenario_options
    )
    transcript: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + transcript_wait_s
    while loop.time() < deadline:
        latest = await read_transcript(stack, result.call_connection_id)  # type: ignore[arg-type]
        if latest and latest == transcript:
            break
        transcript = latest
        await asyncio.sleep(0.4)
    return CallReport(result, transcript, speed, caller_pcm=[t.pcm for t in turns])


async def run_twilio_call_command(
    settings: Settings,
    wavs: Sequence[Any],
    *,
    speed: float,
    progress: Callable[[str], None] | None,
    caller_tts: Callable[[Any], Any],
) -> CallReport:
    """``parley call --telephony twilio``: stack, caller turns at 8 kHz, the call."""
    async with open_twilio_stack(settings) as stack:
        if wavs:
            turns = wav_turns(wavs, stack.format)
        else:
            tts = await caller_tts(stack)
            turns = await synthesize_turns(tts, DEMO_CALLER_LINES, stack.format)
        if progress:
            progress(f"server {stack.base_url}, Twilio emulator {stack.emulator.api_base_url}")
        return await place_twilio_call(stack, turns, speed=speed, progress=progress)
