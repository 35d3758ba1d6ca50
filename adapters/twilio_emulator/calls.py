"""One call as the Twilio emulator sees it, and how an emulated far end behaves."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from adapters.twilio_emulator.media_client import PCM8K, TwilioMediaClient
from ports import AudioFormat


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits (``CA...``, ``AC...``, ``MZ...``)."""
    return prefix + secrets.token_hex(16)


class Answer(StrEnum):
    """How a dialled number responds (outbound calls and transfer targets)."""

    ANSWER = "answer"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"


@dataclass(slots=True)
class EmulatedTwilioCall:
    """One call.

    Attributes:
        call_sid: ``CA...``.
        account_sid: ``AC...``.
        from_number: ``From`` (the caller; the agent's number on outbound calls).
        to_number: ``To``.
        direction: ``inbound`` or ``outbound-api``.
        status: Twilio ``CallStatus``: queued, ringing, in-progress, completed, busy,
            no-answer, failed, canceled.
        status_callback: ``StatusCallback`` URL, "" for none.
        status_events: ``StatusCallbackEvent`` values asked for.
        twiml: Every TwiML document executed, in order.
        media: The current media client, if a stream is up.
        streams: Media streams connected so far (a failed transfer reconnects one).
        media_ready: Set when the first stream is up (or failed; see ``media_error``).
        media_error: Why the stream could not connect.
        ended: Set when the call ended.
        transfers: ``<Dial>`` targets, in order.
        callbacks: Every webhook or callback posted (a name and the HTTP status it got).
        requests: REST requests about this call (``create``, ``update``...).
        answered_by: What an outbound call's callee is (``human`` or ``machine``, for tests).
    """

    call_sid: str
    account_sid: str
    from_number: str
    to_number: str
    direction: str = "inbound"
    status: str = "queued"
    status_callback: str = ""
    status_events: tuple[str, ...] = ()
    twiml: list[str] = field(default_factory=list)
    media: TwilioMediaClient | None = None
    streams: int = 0
    media_ready: asyncio.Event = field(default_factory=asyncio.Event)
    media_error: str | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    transfers: list[str] = field(default_factory=list)
    callbacks: list[tuple[str, int]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    answered_by: str = "human"

    @property
    def call_connection_id(self) -> str:
        """The id the agent knows the call by (its ``CallSid``)."""
        return self.call_sid

    @property
    def format(self) -> AudioFormat:
        """The caller's line: 8 kHz PCM16 (mu-law on the wire)."""
        return PCM8K

    def resource(self) -> dict[str, Any]:
        """The Call resource JSON ("Call resource", the fields the ``twilio`` client reads)."""
        return {
            "sid": self.call_sid,
            "account_sid": self.account_sid,
            "from": self.from_number,
            "to": self.to_number,
            "direction": self.direction,
            "status": self.status,
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{self.call_sid}.json",
        }
