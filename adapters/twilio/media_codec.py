"""The one codec for Twilio Media Streams WebSocket messages, both directions.

Every shape comes from Twilio's page "Media Streams - WebSocket Messages"
(https://www.twilio.com/docs/voice/media-streams/websocket-messages), as collected in
``docs/wire-protocols.md``:

* from Twilio, JSON text frames (``sequenceNumber``, ``chunk`` and ``timestamp`` are strings)::

    {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    {"event": "start", "sequenceNumber": "1", "streamSid": "MZ...", "start": {"accountSid":
     "AC...", "streamSid": "MZ...", "callSid": "CA...", "tracks": ["inbound"], "mediaFormat":
     {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}, "customParameters": {}}}
    {"event": "media", "sequenceNumber": "3", "streamSid": "MZ...", "media": {"track":
     "inbound", "chunk": "1", "timestamp": "5", "payload": "<base64 mu-law>"}}
    {"event": "dtmf", "streamSid": "MZ...", "sequenceNumber": "5", "dtmf": {"track":
     "inbound_track", "digit": "1"}}
    {"event": "mark", "sequenceNumber": "4", "streamSid": "MZ...", "mark": {"name": "m1"}}
    {"event": "stop", "sequenceNumber": "9", "streamSid": "MZ...", "stop": {"accountSid":
     "AC...", "callSid": "CA..."}}

* to Twilio (bidirectional streams, ``<Connect><Stream>``)::

    {"event": "media", "streamSid": "MZ...", "media": {"payload": "<base64 mu-law>"}}
    {"event": "mark", "streamSid": "MZ...", "mark": {"name": "m1"}}
    {"event": "clear", "streamSid": "MZ..."}

Audio is G.711 mu-law at 8 kHz, mono, without a header; 20 ms is 160 bytes. Bad input never
raises out of :func:`decode_inbound` / :func:`decode_outbound`: the message is logged (without
its audio), counted through :meth:`ports.CallMetrics.frame_dropped` with a stable reason, and
``None`` is returned so the call goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ports import MULAW_8K, CallMetrics

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 64 * 1024
"""Largest WebSocket message accepted, bytes; larger ones are dropped as ``too_large``."""

FRAME_MS: Final = 20
"""Duration of one media chunk as Twilio sends it, ms (a convention, not a documented rule)."""

FRAME_BYTES: Final = MULAW_8K.frame_bytes(FRAME_MS)
"""Bytes of mu-law audio in one 20 ms chunk (160)."""

DTMF_DIGITS: Final = frozenset("0123456789*#ABCD")
"""Characters a ``dtmf`` message may carry."""


# --------------------------------------------------------------------------- payload models


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class MediaFormatPayload(_Payload):
    """``start.mediaFormat``."""

    encoding: str = "audio/x-mulaw"
    sample_rate: int = Field(default=8000, alias="sampleRate")
    channels: int = 1


class StartPayload(_Payload):
    """``start`` of a ``start`` message."""

    account_sid: str = Field(default="", alias="accountSid")
    stream_sid: str = Field(default="", alias="streamSid")
    call_sid: str = Field(alias="callSid", min_length=1, max_length=64)
    tracks: list[str] = Field(default_factory=list)
    media_format: MediaFormatPayload = Field(
        default_factory=MediaFormatPayload, alias="mediaFormat"
    )
    custom_parameters: dict[str, str] = Field(default_factory=dict, alias="customParameters")


class MediaPayload(_Payload):
    """``media`` of a ``media`` message."""

    payload: str
    track: str = "inbound"
    chunk: str = ""
    timestamp: str = ""


class DtmfPayload(_Payload):
    """``dtmf`` of a ``dtmf`` message."""

    digit: str
    track: str = "inbound_track"


class MarkPayload(_Payload):
    """``mark`` of a ``mark`` message (both directions)."""

    name: str = Field(max_length=256)


class StopPayload(_Payload):
    """``stop`` of a ``stop`` message."""

    account_sid: str = Field(default="", alias="accountSid")
    call_sid: str = Field(default="", alias="callSid")


# --------------------------------------------------------------------------- decoded values


@dataclass(frozen=True, slots=True)
class Connected:
    """The first message: the protocol spoken on this socket."""

    protocol: str = "Call"
    version: str = ""


@dataclass(frozen=True, slots=True)
class Start:
    """The stream's metadata.

    Attributes:
        stream_sid: ``MZ...``, to put on every message we send.
        call_sid: ``CA...``: the call (Parley's call id for Twilio calls).
        account_sid: ``AC...``.
        custom_parameters: ``<Parameter>`` values of the ``<Stream>`` TwiML.
        mulaw_8k: True when the announced format is mu-law, 8000 Hz, mono (the only one
            Twilio streams).
    """

    stream_sid: str
    call_sid: str
    account_sid: str = ""
    custom_parameters: dict[str, str] = field(default_factory=dict)
    mulaw_8k: bool = True


@dataclass(frozen=True, slots=True)
class Media:
    """One chunk of audio.

    Attributes:
        mulaw: G.711 mu-law bytes (8 kHz mono).
        track: ``inbound`` (the caller) or ``outbound``.
    """

    mulaw: bytes
    track: str = "inbound"


@dataclass(frozen=True, slots=True)
class Dtmf:
    """One key pressed (``0-9``, ``*``, ``#``, ``A-D``)."""

    digit: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A mark: from Twilio, the named point of our audio has played (or was cleared)."""

    name: str


@dataclass(frozen=True, slots=True)
class Stop:
    """The stream ended (the call hung up, or left ``<Connect>``)."""

    call_sid: str = ""


@dataclass(frozen=True, slots=True)
class Clear:
    """Outbound: drop the audio Twilio has buffered and send back the pending marks."""


InboundMessage: TypeAlias = Connected | Start | Media | Dtmf | Mark | Stop
"""What Twilio sends us."""

OutboundMessage: TypeAlias = Media | Mark | Clear
"""What we send Twilio (decoded by the emulator)."""


# --------------------------------------------------------------------------- helpers


def _drop(metrics: CallMetrics | None, reason: str, detail: str = "") -> None:
    # The detail never contains audio: callers pass a reason and a short shape description.
    logger.warning("dropped Twilio media message: %s %s", reason, detail)
    if metrics is not None:
        metrics.frame_dropped(reason)


def _load(message: str | bytes, metrics: CallMetrics | None) -> dict[str, Any] | None:
    if isinstance(message, bytes | bytearray | memoryview):
        _drop(metrics, "binary_frame", f"({len(message)} bytes)")
        return None
    if not isinstance(message, str):
        _drop(metrics, "malformed_json", f"(type {type(message).__name__})")
        return None
    if len(message) > MAX_MESSAGE_BYTES or (
        len(message) * 4 > MAX_MESSAGE_BYTES
        and len(message.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES
    ):
        _drop(metrics, "too_large", f"({len(message)} chars)")
        return None
    try:
        raw = json.loads(message)
    except (ValueError, RecursionError):
        _drop(metrics, "malformed_json")
        return None
    if type(raw) is not dict or not isinstance(raw.get("event"), str):
        _drop(metrics, "unknown_event", "(no event)")
        return None
    return raw


def _audio(payload: str, metrics: CallMetrics | None) -> bytes | None:
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        _drop(metrics, "bad_base64")
        return None


def _validate(model: type[_Payload], body: Any, name: str, metrics: CallMetrics | None) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        _drop(metrics, "invalid_payload", f"({name}: {exc.error_count()} errors)")
        return None


# --------------------------------------------------------------------------- decoding


def _fast_media(message: str | bytes, metrics: CallMetrics | None) -> Media | None:
    """The hot path: a ``media`` message (50 per second per call); else None."""
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_BYTES:
        return None
    try:
        raw = json.loads(message)
    except (ValueError, RecursionError):
        return None
    if type(raw) is not dict or raw.get("event") != "media":
        return None
    body = raw.get("media")
    if type(body) is not dict:
        return None
    payload, track = body.get("payload"), body.get("track", "inbound")
    if type(payload) is not str or type(track) is not str:
        return None
    mulaw = _audio(payload, metrics)
    return _DROPPED if mulaw is None else Media(mulaw, track)


_DROPPED: Final = Media(b"", "dropped")
"""Sentinel: the fast path dropped (and counted) the message."""


def decode_inbound(
    message: str | bytes, metrics: CallMetrics | None = None
) -> InboundMessage | None:
    """Decode one message Twilio sent on the media WebSocket.

    Args:
        message: The WebSocket message: text (JSON) or bytes (always dropped: Twilio sends
            text).
        metrics: Where drops are counted (``frame_dropped(reason)``); optional.

    Returns:
        The decoded message, or ``None`` when it was dropped. Drop reasons: ``binary_frame``,
        ``too_large`` (over 64 KiB), ``malformed_json``, ``unknown_event``,
        ``invalid_payload``, ``bad_base64``, ``bad_dtmf``. Never raises.
    """
    try:
        fast = _fast_media(message, metrics)
        if fast is _DROPPED:
            return None
        if fast is not None:
            return fast
        return _decode_inbound(message, metrics)
    except Exception:  # the contract is "never raises"; a bug here must not end the call
        logger.exception("Twilio media codec failed on an inbound message")
        _drop(metrics, "codec_error")
        return None


def _decode_inbound(message: str | bytes, metrics: CallMetrics | None) -> InboundMessage | None:
    obj = _load(message, metrics)
    if obj is None:
        return None
    event = obj["event"]
    if event == "media":
        media = _validate(MediaPayload, obj.get("media"), "media", metrics)
        if media is None:
            return None
        mulaw = _audio(media.payload, metrics)
        return None if mulaw is None else Media(mulaw, media.track)
    if event == "connected":
        return Connected(str(obj.get("protocol", "")), str(obj.get("version", "")))
    if event == "start":
        start = _validate(StartPayload, obj.get("start"), "start", metrics)
        if start is None:
            return None
        fmt = start.media_format
        return Start(
            stream_sid=start.stream_sid or str(obj.get("streamSid", "")),
            call_sid=start.call_sid,
            account_sid=start.account_sid,
            custom_parameters=dict(start.custom_parameters),
            mulaw_8k=fmt.encoding.lower() == "audio/x-mulaw"
            and fmt.sample_rate == 8000
            and fmt.channels == 1,
        )
    if event == "dtmf":
        dtmf = _validate(DtmfPayload, obj.get("dtmf"), "dtmf", metrics)
        if dtmf is None:
            return None
        digit = dtmf.digit.strip().upper()
        if digit not in DTMF_DIGITS or len(digit) != 1:
            _drop(metrics, "bad_dtmf", f"({len(dtmf.digit)} chars)")
            return None
        return Dtmf(digit)
    if event == "mark":
        mark = _validate(MarkPayload, obj.get("mark"), "mark", metrics)
        return None if mark is None else Mark(mark.name)
    if event == "stop":
        stop = _validate(StopPayload, obj.get("stop") or {}, "stop", metrics)
        return None if stop is None else Stop(stop.call_sid)
    _drop(metrics, "unknown_event", f"({event[:40]!r})")
    return None


def decode_outbound(
    message: str | bytes, metrics: CallMetrics | None = None
) -> OutboundMessage | None:
    """Decode one message the agent side sends; used by the Twilio emulator's media client.

    Returns:
        :class:`Media`, :class:`Mark` or :class:`Clear`; ``None`` when dropped. Never raises.
    """
    try:
        obj = _load(message, metrics)
        if obj is None:
            return None
        event = obj["event"]
        if event == "media":
            media = _validate(MediaPayload, obj.get("media"), "media", metrics)
            if media is None:
                return None
            mulaw = _audio(media.payload, metrics)
            return None if mulaw is None else Media(mulaw, "outbound")
        if event == "mark":
            mark = _validate(MarkPayload, obj.get("mark"), "mark", metrics)
            return None if mark is None else Mark(mark.name)
        if event == "clear":
            return Clear()
        _drop(metrics, "unknown_event", f"({event[:40]!r})")
        return None
    except Exception:  # the contract is "never raises"
        logger.exception("Twilio media codec failed on an outbound message")
        _drop(metrics, "codec_error")
        return None


# --------------------------------------------------------------------------- encoding (ours)


def encode_media(stream_sid: str, mulaw: bytes) -> str:
    """Outbound ``media`` text frame for mu-law ``mulaw`` (built by concatenation: hot path)."""
    return (
        '{"event":"media","streamSid":"'
        + stream_sid
        + '","media":{"payload":"'
        + base64.b64encode(mulaw).decode()
        + '"}}'
    )


def encode_mark(stream_sid: str, name: str) -> str:
    """A ``mark`` text frame (ours: Twilio echoes it when playback reaches it)."""
    return json.dumps(
        {"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}, separators=(",", ":")
    )


def encode_clear(stream_sid: str) -> str:
    """Outbound ``clear`` text frame: Twilio drops its buffered audio (barge-in)."""
    return json.dumps({"event": "clear", "streamSid": stream_sid}, separators=(",", ":"))


# --------------------------------------------------------------------------- encoding (Twilio's)


def encode_connected() -> str:
    """The ``connected`` message Twilio sends first."""
    return '{"event":"connected","protocol":"Call","version":"1.0.0"}'


def encode_start(
    *,
    stream_sid: str,
    call_sid: str,
    account_sid: str,
    custom_parameters: dict[str, str],
    sequence_number: int = 1,
) -> str:
    """The ``start`` message of a bidirectional stream (inbound track, mu-law 8 kHz)."""
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": str(sequence_number),
            "start": {
                "accountSid": account_sid,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": custom_parameters,
            },
            "streamSid": stream_sid,
        },
        separators=(",", ":"),
    )


def encode_inbound_media(
    stream_sid: str, mulaw: bytes, *, sequence_number: int, chunk: int, timestamp_ms: int
) -> str:
    """A ``media`` message as Twilio sends caller audio."""
    return (
        '{"event":"media","sequenceNumber":"'
        + str(sequence_number)
        + '","media":{"track":"inbound","chunk":"'
        + str(chunk)
        + '","timestamp":"'
        + str(timestamp_ms)
        + '","payload":"'
        + base64.b64encode(mulaw).decode()
        + '"},"streamSid":"'
        + stream_sid
        + '"}'
    )


def encode_dtmf(stream_sid: str, digit: str, *, sequence_number: int) -> str:
    """A ``dtmf`` message (a key the caller pressed)."""
    return json.dumps(
        {
            "event": "dtmf",
            "streamSid": stream_sid,
            "sequenceNumber": str(sequence_number),
            "dtmf": {"track": "inbound_track", "digit": digit},
        },
        separators=(",", ":"),
    )


def encode_mark_echo(stream_sid: str, name: str, *, sequence_number: int) -> str:
    """A ``mark`` message as Twilio echoes one (playback reached it, or it was cleared)."""
    return json.dumps(
        {
            "event": "mark",
            "sequenceNumber": str(sequence_number),
            "streamSid": stream_sid,
            "mark": {"name": name},
        },
        separators=(",", ":"),
    )


def encode_stop(stream_sid: str, *, call_sid: str, account_sid: str, sequence_number: int) -> str:
    """The ``stop`` message: the stream has ended."""
    return json.dumps(
        {
            "event": "stop",
            "sequenceNumber": str(sequence_number),
            "streamSid": stream_sid,
            "stop": {"accountSid": account_sid, "callSid": call_sid},
        },
        separators=(",", ":"),
    )
