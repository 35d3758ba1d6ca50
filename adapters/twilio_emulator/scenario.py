"""One inbound Twilio call, scripted from the caller's side, measured on the wire.

The emulator posts the Voice webhook, runs the ``<Connect><Stream>`` it gets back, and speaks
the caller's turns on the stream exactly as the ACS scenario does
(:func:`adapters.acs_emulator.scenario.converse`), so both providers' calls are measured alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from adapters.acs_emulator.scenario import CallerTurn, CallResult, converse
from adapters.twilio_emulator.server import TwilioEmulator

logger = logging.getLogger(__name__)


async def run_twilio_call(
    emulator: TwilioEmulator,
    voice_url: str,
    turns: Sequence[CallerTurn],
    *,
    speed: float = 1.0,
    greeting_timeout_s: float = 10.0,
    reply_timeout_s: float = 20.0,
    settle_s: float = 0.8,
    gap_ms: float = 400.0,
    linger_s: float = 0.0,
    caller: str = "+14255550100",
    progress: Callable[[str], None] | None = None,
) -> CallResult:
    """Run one inbound call through the Twilio emulator against the agent at ``voice_url``.

    Args:
        emulator: A started emulator the agent's Twilio client points at.
        voice_url: The agent's Voice webhook (``http://.../api/twilio/voice``).
        turns: What the caller says (8 kHz PCM16), in order.
        speed: Caller line speed factor (1.0 real time).
        greeting_timeout_s: Longest wait for the agent's first audio.
        reply_timeout_s: Longest wait for a reply to finish.
        settle_s: Agent silence that counts as "finished talking", seconds.
        gap_ms: Caller silence before each turn once the agent is quiet, ms.
        linger_s: Keep the line open this long after the last reply before hanging up.
        caller: Caller phone number.
        progress: Called with short status lines.

    Returns:
        The call as the caller saw it (``CallResult``, as the ACS scenario gives it);
        ``error`` says why when it failed. Never raises for agent-side failures.
    """
    say = progress or (lambda _line: None)
    result = CallResult()
    started = time.monotonic()
    try:
        call = await emulator.offer_call(voice_url, caller=caller)
        result.call_connection_id = call.call_sid
        result.format = call.format
        media = call.media
        if media is None:
            raise RuntimeError(f"media stream failed: {call.media_error}")
        say(f"Twilio call {call.call_sid[:10]} streaming (8 kHz mu-law)")
        await converse(
            call,
            media,
            turns,
            result,
            hang_up=lambda: emulator.hang_up(call),
            speed=speed,
            greeting_timeout_s=greeting_timeout_s,
            reply_timeout_s=reply_timeout_s,
            settle_s=settle_s,
            gap_ms=gap_ms,
            linger_s=linger_s,
            say=say,
        )
    except Exception as exc:
        logger.warning("emulated Twilio call failed: %s", exc)
        result.error = f"{type(exc).__name__}: {exc}"
        result.ended_by = "error"
    result.duration_s = time.monotonic() - started
    return result
