"""The one codec for ACS media streaming WebSocket messages, both directions.

Every shape here comes from the ACS docs pages "Audio streaming quickstart" (titled
"Quickstart: Server-side audio streaming",
learn.microsoft.com/azure/communication-services/how-tos/call-automation/audio-streaming-quickstart)
and "Bidirectional audio streaming"
(learn.microsoft.com/azure/communication-services/concepts/call-automation/audio-streaming-concept),
as summarised in docs/wire-protocols.md, "ACS media streaming WebSocket":

* inbound (ACS to us), JSON text frames::

    {"kind": "AudioMetadata", "audioMetadata": {"subscriptionId": "...", "encoding": "PCM",
     "sampleRate": 16000, "channels": 1, "length": 640}}
    {"kind": "AudioData", "audioData": {"timestamp": "2024-...Z", "participantRawID": "4:+1...",
     "data": "<base64 PCM16LE>", "silent": false}}          # "silent" may be absent
    {"kind": "DtmfData", "dtmfData": {"data": "3"}}

* outbound (us to ACS)::

    {"kind": "AudioData", "audioData": {"data": "<base64 PCM16LE>"}}
    {"kind": "StopAudio", "audioData": null, "stopAudio": {}}

The ACS SDKs disagree on key casing (``kind``/``Kind``, ``audioData``/``AudioData``), so every
key is matched case-insensitively. Frames are 20 ms: 640 bytes at 16 kHz, 960 at 24 kHz.

Bad input never raises out of :func:`decode_inbound` / :func:`decode_outbound`: the message is
logged at DEBUG (without its audio), counted through :meth:`ports.CallMetrics.frame_dropped`
with a stable reason, and ``None`` is returned so the call goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import orjson
import pybase64
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ports import PCM16_16K, PCM16_24K, AudioFormat, CallMetrics

logger = logging.getLogger(__name__)

FRAME_MS: Final = 20
"""Duration of one ACS media frame, ms (50 frames per second)."""

MAX_MESSAGE_BYTES: Final = 64 * 1024
"""Largest WebSocket message accepted, bytes; larger ones are dropped as ``too_large``."""

ACS_AUDIO_FORMATS: Final[Mapping[str, AudioFormat]] = MappingProxyType(
    {"pcm16KMono": PCM16_16K, "pcm24KMono": PCM16_24K}
)
"""ACS ``audioFormat`` names (MediaStreamingOptions) and the formats they mean."""

ACS_SAMPLE_RATES_HZ: Final = frozenset(fmt.sample_rate_hz for fmt in ACS_AUDIO_FORMATS.values())
"""The only ``AudioMetadata.sampleRate`` values ACS negotiates (16 000 and 24 000 Hz)."""

DTMF_TONE_DIGITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "zero": "0",
        "one": "1",
        "two": "2",
        "three": "3",
        "four": "4",
        "five": "5",
        "six": "6",
        "seven": "7",
        "eight": "8",
        "nine": "9",
        "a": "A",
        "b": "B",
        "c": "C",
        "d": "D",
        "pound": "#",
        "asterisk": "*",
        "star": "*",
        "hash": "#",
    }
)
"""ACS ``DtmfTone`` names (``azure.communication.callautomation.DtmfTone``) to characters."""

DIGIT_DTMF_TONES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "0": "zero",
        "1": "one",
        "2": "two",
        "3": "three",
        "4": "four",
        "5": "five",
        "6": "six",
        "7": "seven",
        "8": "eight",
        "9": "nine",
        "A": "a",
        "B": "b",
        "C": "c",
        "D": "d",
        "#": "pound",
        "*": "asterisk",
    }
)
"""Characters to ACS ``DtmfTone`` names, for requests (``stopTones``) and the emulator."""

_VALID_DIGITS: Final = frozenset(DIGIT_DTMF_TONES)


def frame_bytes(fmt: AudioFormat) -> int:
    """Bytes in one 20 ms ACS frame of ``fmt`` (640 at 16 kHz PCM16 mono, 960 at 24 kHz)."""
    return fmt.frame_bytes(FRAME_MS)


def tone_to_digit(tone: str) -> str | None:
    """Map an ACS tone name (``"nine"``, ``"pound"``) or a digit (``"9"``) to one character.

    Returns:
        ``0-9``, ``A-D``, ``*`` or ``#``; ``None`` when ``tone`` is neither.
    """
    if tone in _VALID_DIGITS:
        return tone
    upper = tone.upper()
    if upper in _VALID_DIGITS:
        return upper
    return DTMF_TONE_DIGITS.get(tone.lower())


# --------------------------------------------------------------------------- payload models


class _Payload(BaseModel):
    # Keys are lower-cased before validation (see _lower_keys), so aliases are lower case.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class AudioMetadataPayload(_Payload):
    """``audioMetadata`` of an ``AudioMetadata`` message ("Audio streaming quickstart")."""

    subscription_id: str = Field(default="", alias="subscriptionid")
    encoding: str = "PCM"
    sample_rate: int = Field(alias="samplerate", gt=0, le=192_000)
    channels: int = Field(default=1, gt=0, le=8)
    length: int = Field(default=0, ge=0)


class AudioDataPayload(_Payload):
    """``audioData`` of an ``AudioData`` message ("Audio streaming quickstart").

    ``silent`` may be absent; it then means False. ``participantRawID`` is spelled with a
    capital ``ID`` on the wire; keys are matched case-insensitively anyway.
    """

    data: str
    timestamp: str | None = None
    participant_raw_id: str | None = Field(default=None, alias="participantrawid")
    silent: bool = False


class DtmfDataPayload(_Payload):
    """``dtmfData`` of a ``DtmfData`` message ("Audio streaming quickstart")."""

    data: str


class OutboundAudioPayload(_Payload):
    """``audioData`` of an outbound ``AudioData`` message ("Bidirectional audio streaming")."""

    data: str


# --------------------------------------------------------------------------- decoded values


@dataclass(frozen=True, slots=True)
class AudioMetadata:
    """The stream's announced format.

    Attributes:
        format: Inbound audio format (outbound uses the same).
        subscription_id: ACS media subscription id.
        frame_bytes: Announced bytes per frame (``length``), 0 when absent.
    """

    format: AudioFormat
    subscription_id: str = ""
    frame_bytes: int = 0


@dataclass(frozen=True, slots=True)
class AudioData:
    """One audio frame.

    Attributes:
        pcm: PCM16LE samples, an even byte count.
        timestamp: ACS timestamp string (ISO 8601), when given.
        participant_raw_id: Speaking participant's raw id, when given.
        silent: True when ACS flagged the frame as silence.
    """

    pcm: bytes
    timestamp: str | None = None
    participant_raw_id: str | None = None
    silent: bool = False


@dataclass(frozen=True, slots=True)
class DtmfData:
    """One DTMF tone as a character (``0-9``, ``*``, ``#``, ``A-D``)."""

    digit: str


@dataclass(frozen=True, slots=True)
class StopAudio:
    """The far end must discard the outbound audio it has buffered."""


InboundMessage: TypeAlias = AudioMetadata | AudioData | DtmfData
"""What ACS sends us."""

OutboundMessage: TypeAlias = AudioData | StopAudio
"""What we send ACS (decoded by the emulator)."""


# --------------------------------------------------------------------------- helpers


def _lower_keys(value: Any) -> Any:
    """Lower-case every dict key, recursively (values untouched)."""
    if isinstance(value, dict):
        return {(k.lower() if isinstance(k, str) else k): _lower_keys(v) for k, v in value.items()}
    return value


def _drop(metrics: CallMetrics | None, reason: str, detail: str = "") -> None:
    # The detail never contains audio: callers pass a reason and a short shape description.
    # DEBUG only: a peer sending garbage must not write a log line per message (the media
    # stream warns once per call and sums the drops up at its end).
    logger.debug("dropped ACS media message: %s %s", reason, detail)
    if metrics is not None:
        metrics.frame_dropped(reason)


def _load(message: str | bytes, metrics: CallMetrics | None) -> dict[str, Any] | None:
    if isinstance(message, bytes | bytearray | memoryview):
        _drop(metrics, "binary_frame", f"({len(message)} bytes)")
        return None
    if not isinstance(message, str):
        _drop(metrics, "malformed_json", f"(type {type(message).__name__})")
        return None
    # A str's UTF-8 size is at least its length; encode only when it could be over the limit.
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
    if not isinstance(raw, dict):
        _drop(metrics, "malformed_json", "(not an object)")
        return None
    try:
        lowered = _lower_keys(raw)
    except RecursionError:
        _drop(metrics, "malformed_json", "(too deep)")
        return None
    if not isinstance(lowered.get("kind"), str):
        _drop(metrics, "unknown_kind", "(no kind)")
        return None
    return lowered  # type: ignore[no-any-return]


def _decode_pcm(data: str, metrics: CallMetrics | None) -> bytes | None:
    try:
        pcm = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        _drop(metrics, "bad_base64")
        return None
    if len(pcm) % 2:
        _drop(metrics, "odd_byte_count", f"({len(pcm)} bytes)")
        return None
    return pcm


def _decode_audio_data(body: Any, metrics: CallMetrics | None) -> AudioData | None:
    try:
        payload = AudioDataPayload.model_validate(body)
    except ValidationError as exc:
        _drop(metrics, "invalid_payload", f"(AudioData: {exc.error_count()} errors)")
        return None
    pcm = _decode_pcm(payload.data, metrics)
    if pcm is None:
        return None
    return AudioData(
        pcm=pcm,
        timestamp=payload.timestamp,
        participant_raw_id=payload.participant_raw_id,
        silent=payload.silent,
    )


# --------------------------------------------------------------------------- decoding


def decode_inbound(
    message: str | bytes, metrics: CallMetrics | None = None
) -> InboundMessage | None:
    """Decode one message ACS sent on the media WebSocket.

    Args:
        message: The WebSocket message: text (JSON) or bytes (always dropped: ACS sends text).
        metrics: Where drops are counted (``frame_dropped(reason)``); optional.

    Returns:
        The decoded message, or ``None`` when it was dropped. Drop reasons: ``binary_frame``,
        ``too_large`` (over 64 KiB), ``malformed_json``, ``unknown_kind``, ``invalid_payload``,
        ``bad_base64``, ``odd_byte_count``, ``bad_dtmf``, ``unsupported_format`` (an
        ``AudioMetadata`` that is not PCM16 mono at 16 000 or 24 000 Hz, the only formats ACS
        negotiates: MediaStreamingOptions ``audioFormat`` ``pcm16KMono``/``pcm24KMono``,
        "Bidirectional audio streaming",
        learn.microsoft.com/azure/communication-services/concepts/call-automation/audio-streaming-concept).
        Never raises.
    """
    try:
        return _decode_inbound(message, metrics)
    except Exception:  # the contract is "never raises"; a bug here must not end the call
        logger.exception("ACS media codec failed on an inbound message")
        _drop(metrics, "codec_error")
        return None


def _fast_audio(message: str | bytes, metrics: CallMetrics | None) -> AudioData | None:
    """The hot path: a canonically cased ``AudioData`` frame (50 per second per call).

    Same checks as the model (string ``data``, optional string ``timestamp`` and
    ``participantRawID``, boolean ``silent``); anything else goes the general way, which also
    decides every input this path does not accept (so both paths give one answer). orjson
    parses (a few times faster than ``json``), pybase64 decodes (SIMD, a drop-in for
    ``base64.b64decode(validate=True)``), and any input it refuses is left to
    :func:`_decode_pcm` to accept or drop with its reason.
    """
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_BYTES:
        return None
    try:
        raw = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    if type(raw) is not dict or raw.get("kind") != "AudioData":
        return None
    body = raw.get("audioData")
    if type(body) is not dict or len(body.keys() - _FAST_AUDIO_KEYS):
        return None
    data, timestamp = body.get("data"), body.get("timestamp")
    participant, silent = body.get("participantRawID"), body.get("silent", False)
    if (
        type(data) is not str
        or (timestamp is not None and type(timestamp) is not str)
        or (participant is not None and type(participant) is not str)
        or type(silent) is not bool
    ):
        return None
    try:
        pcm: bytes | None = pybase64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        pcm = None
    if pcm is None or len(pcm) % 2:
        pcm = _decode_pcm(data, metrics)
        if pcm is None:
            return _DROPPED
    return AudioData(pcm, timestamp, participant, silent)


_FAST_AUDIO_KEYS: Final = frozenset({"data", "timestamp", "participantRawID", "silent"})
_DROPPED: Final = AudioData(b"")
"""Sentinel: the fast path dropped (and counted) the frame."""


def _decode_inbound(message: str | bytes, metrics: CallMetrics | None) -> InboundMessage | None:
    fast = _fast_audio(message, metrics)
    if fast is _DROPPED:
        return None
    if fast is not None:
        return fast
    obj = _load(message, metrics)
    if obj is None:
        return None
    kind = obj["kind"].lower()
    if kind == "audiodata":
        return _decode_audio_data(obj.get("audiodata"), metrics)
    if kind == "audiometadata":
        try:
            meta = AudioMetadataPayload.model_validate(obj.get("audiometadata"))
        except ValidationError as exc:
            _drop(metrics, "invalid_payload", f"(AudioMetadata: {exc.error_count()} errors)")
            return None
        if (
            meta.encoding.upper() != "PCM"
            or meta.channels != 1
            or meta.sample_rate not in ACS_SAMPLE_RATES_HZ
        ):
            # Only what ACS negotiates (pcm16KMono/pcm24KMono): an arbitrary rate would reach
            # every resampler of the call (a 2 Hz one once stalled the shared TTS worker).
            _drop(
                metrics,
                "unsupported_format",
                f"({meta.encoding} x{meta.channels} at {meta.sample_rate} Hz)",
            )
            return None
        return AudioMetadata(
            format=AudioFormat(meta.sample_rate),
            subscription_id=meta.subscription_id,
            frame_bytes=meta.length,
        )
    if kind == "dtmfdata":
        try:
            dtmf = DtmfDataPayload.model_validate(obj.get("dtmfdata"))
        except ValidationError as exc:
            _drop(metrics, "invalid_payload", f"(DtmfData: {exc.error_count()} errors)")
            return None
        digit = tone_to_digit(dtmf.data.strip())
        if digit is None:
            _drop(metrics, "bad_dtmf", f"({len(dtmf.data)} chars)")
            return None
        return DtmfData(digit)
    _drop(metrics, "unknown_kind", f"({kind[:40]!r})")
    return None


def decode_outbound(
    message: str | bytes, metrics: CallMetrics | None = None
) -> OutboundMessage | None:
    """Decode one message we (the agent side) send; used by the emulator's media client.

    Args:
        message: The WebSocket message.
        metrics: Where drops are counted; optional.

    Returns:
        :class:`AudioData` (only ``pcm`` set) or :class:`StopAudio`; ``None`` when dropped.
        Never raises.
    """
    try:
        obj = _load(message, metrics)
        if obj is None:
            return None
        kind = obj["kind"].lower()
        if kind == "stopaudio":
            return StopAudio()
        if kind == "audiodata":
            return _decode_audio_data(obj.get("audiodata"), metrics)
        _drop(metrics, "unknown_kind", f"({kind[:40]!r})")
        return None
    except Exception:  # the contract is "never raises"
        logger.exception("ACS media codec failed on an outbound message")
        _drop(metrics, "codec_error")
        return None


# --------------------------------------------------------------------------- encoding


def encode_audio(pcm: bytes) -> str:
    """Outbound ``AudioData`` text frame for PCM16LE ``pcm`` ("Bidirectional audio streaming").

    Built by string concatenation: base64 needs no JSON escaping, and this runs per frame.
    """
    return '{"kind":"AudioData","audioData":{"data":"' + base64.b64encode(pcm).decode() + '"}}'


def encode_audio_bytes(pcm: bytes) -> bytes:
    """:func:`encode_audio` as UTF-8 bytes, built without a ``str`` (the per-frame path)."""
    return _AUDIO_PREFIX + pybase64.b64encode(pcm) + _AUDIO_SUFFIX


_AUDIO_PREFIX: Final = b'{"kind":"AudioData","audioData":{"data":"'
_AUDIO_SUFFIX: Final = b'"}}'

STOP_AUDIO_MESSAGE: Final = '{"kind":"StopAudio","audioData":null,"stopAudio":{}}'
"""Outbound ``StopAudio`` text frame ("Bidirectional audio streaming")."""


def encode_stop_audio() -> str:
    """Outbound ``StopAudio`` text frame: the far end drops its buffered audio."""
    return STOP_AUDIO_MESSAGE


def encode_audio_metadata(
    fmt: AudioFormat, *, subscription_id: str = "emulated-subscription"
) -> str:
    """Inbound ``AudioMetadata`` text frame, sent first by ACS ("Audio streaming quickstart")."""
    return json.dumps(
        {
            "kind": "AudioMetadata",
            "audioMetadata": {
                "subscriptionId": subscription_id,
                "encoding": "PCM",
                "sampleRate": fmt.sample_rate_hz,
                "channels": fmt.channels,
                "length": frame_bytes(fmt),
            },
        },
        separators=(",", ":"),
    )


def encode_inbound_audio(
    pcm: bytes, *, timestamp: str, participant_raw_id: str, silent: bool | None = False
) -> str:
    """Inbound ``AudioData`` text frame, as ACS sends caller audio ("Audio streaming quickstart").

    Args:
        pcm: PCM16LE samples.
        timestamp: ISO 8601 time of the frame.
        participant_raw_id: Speaking participant (``4:+1...``).
        silent: The ``silent`` flag; ``None`` omits it, as some ACS frames do.
    """
    body: dict[str, Any] = {
        "timestamp": timestamp,
        "participantRawID": participant_raw_id,
        "data": base64.b64encode(pcm).decode(),
    }
    if silent is not None:
        body["silent"] = silent
    return json.dumps({"kind": "AudioData", "audioData": body}, separators=(",", ":"))


def encode_dtmf(digit: str) -> str:
    """Inbound ``DtmfData`` text frame for one tone character ("Audio streaming quickstart")."""
    return json.dumps({"kind": "DtmfData", "dtmfData": {"data": digit}}, separators=(",", ":"))


# --------------------------------------------------------------------------- framing


class Framer:
    """Cuts a PCM16LE byte stream into whole 20 ms frames, carrying the remainder.

    Args:
        fmt: Stream format; a frame is :func:`frame_bytes` long (640 bytes at 16 kHz).
    """

    __slots__ = ("_buffer", "frame_size")

    def __init__(self, fmt: AudioFormat) -> None:
        self.frame_size = frame_bytes(fmt)
        self._buffer = bytearray()

    def push(self, pcm: bytes) -> list[bytes]:
        """Add ``pcm``; return the whole frames now available, in order."""
        self._buffer += pcm
        size = self.frame_size
        n = len(self._buffer) // size
        if n == 0:
            return []
        frames = [bytes(self._buffer[i * size : (i + 1) * size]) for i in range(n)]
        del self._buffer[: n * size]
        return frames

    def flush(self) -> bytes | None:
        """The trailing partial frame padded with silence to a whole frame, or ``None``."""
        if not self._buffer:
            return None
        frame = bytes(self._buffer) + bytes(self.frame_size - len(self._buffer))
        self._buffer.clear()
        return frame

    @property
    def pending_bytes(self) -> int:
        """Bytes held back waiting for a whole frame."""
        return len(self._buffer)
