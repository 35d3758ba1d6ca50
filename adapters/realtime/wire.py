"""The realtime protocol's JSON: client events out, server events in, for both dialects.

Two dialects share one shape of conversation: the OpenAI Realtime GA protocol (``openai``
SDK; nested ``session.audio.input``, ``response.output_audio.delta``) and the beta protocol
Azure Voice Live speaks (``azure-ai-voicelive`` SDK; flat ``input_audio_format``,
``response.audio.delta``, Azure voices and ``azure_semantic_vad``). Server events are
dispatched on their ``type`` string and validated with pydantic (extra fields ignored); a
message that is not JSON, has no known ``type`` or does not validate is dropped and counted
by the session.

Audio is the hot path (a delta every few tens of ms each way, per call): messages are parsed
with orjson and base64 goes through pybase64 (SIMD), with the stdlib ``json`` deciding any
message orjson refuses, so both give one answer (as the ACS media codec does, ADR 0005); an
audio delta whose fields have the expected JSON types is taken without building a pydantic
model (any other goes through the model and gets its verdict).

Sources: OpenAI "Realtime API: client events" and "server events"
(https://platform.openai.com/docs/api-reference/realtime-client-events,
https://platform.openai.com/docs/api-reference/realtime-server-events); Microsoft "Voice Live
API reference" (https://learn.microsoft.com/azure/ai-services/speech-service/voice-live-api-reference);
docs/wire-protocols.md, "Realtime speech-to-speech".
"""

from __future__ import annotations

import base64
import binascii
import json
from enum import StrEnum
from typing import Any

import orjson
import pybase64
from pydantic import BaseModel, ConfigDict, ValidationError

from ports import (
    AudioFormat,
    AudioFrame,
    AuthenticationError,
    ChatMessage,
    ProviderError,
    RateLimitedError,
    Role,
    ToolCall,
    ToolSpec,
)
from ports.realtime import (
    FunctionCall,
    InputTranscript,
    RealtimeConfig,
    RealtimeError,
    RealtimeEvent,
    ResponseAudio,
    ResponseFinished,
    ResponseStarted,
    ResponseTranscript,
    SpeechStarted,
    SpeechStopped,
    TurnDetection,
)

PORT = "realtime"
SERVICE_RATE_HZ = 24000
"""Both services exchange 24 kHz PCM16 mono (``audio/pcm`` rate 24000, ``pcm16``)."""

LINE_INSTRUCTIONS = (
    "Say exactly the following words to the caller, and nothing else, in your usual voice: "
)
"""Prefix of the response instructions that make a GA model speak a fixed line."""


class Dialect(StrEnum):
    """Which protocol shape the service speaks."""

    GA = "ga"
    VOICE_LIVE = "voicelive"


# --- client events ------------------------------------------------------------------------


def _tool(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "name": spec.name,
        "description": spec.description,
        "parameters": dict(spec.parameters),
    }


def _turn_detection(config: RealtimeConfig, dialect: Dialect) -> dict[str, Any] | None:
    options = config.turn_detection
    mode = options.mode
    if mode is TurnDetection.PARLEY:
        return None
    if mode is TurnDetection.SERVER:
        mode = (
            TurnDetection.AZURE_SEMANTIC_VAD
            if dialect is Dialect.VOICE_LIVE
            else TurnDetection.SEMANTIC_VAD
        )
    # The service reports, the domain decides (ADR 0011): no automatic responses or cancels.
    out: dict[str, Any] = {
        "type": mode.value,
        "create_response": False,
        "interrupt_response": False,
    }
    if mode is not TurnDetection.SEMANTIC_VAD:
        for key in ("threshold", "prefix_padding_ms", "silence_duration_ms"):
            value = getattr(options, key)
            if value is not None:
                out[key] = value
    if options.eagerness is not None and mode is not TurnDetection.SERVER_VAD:
        out["eagerness"] = options.eagerness
    return out


def session_update(config: RealtimeConfig, dialect: Dialect) -> dict[str, Any]:
    """The ``session.update`` event that applies ``config``."""
    tools = [_tool(spec) for spec in config.tools]
    transcription: dict[str, Any] = {}
    if config.transcription_model:
        transcription["model"] = config.transcription_model
    if config.language:
        transcription["language"] = (
            config.language.split("-")[0] if dialect is Dialect.GA else (config.language)
        )
    if dialect is Dialect.GA:
        audio_format = {"type": "audio/pcm", "rate": SERVICE_RATE_HZ}
        audio_in: dict[str, Any] = {
            "format": audio_format,
            "turn_detection": _turn_detection(config, dialect),
            "transcription": transcription or {"model": "gpt-4o-mini-transcribe"},
            "noise_reduction": {"type": config.noise_reduction} if config.noise_reduction else None,
        }
        audio_out: dict[str, Any] = {"format": audio_format}
        if config.voice:
            audio_out["voice"] = config.voice
        session: dict[str, Any] = {
            "type": "realtime",
            "output_modalities": ["audio"],
            "instructions": config.instructions,
            "audio": {"input": audio_in, "output": audio_out},
            "tools": tools,
            "tool_choice": "auto",
        }
        return {"type": "session.update", "session": session}
    session = {
        "modalities": ["text", "audio"],
        "instructions": config.instructions,
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
        "input_audio_sampling_rate": SERVICE_RATE_HZ,
        "turn_detection": _turn_detection(config, dialect),
        "input_audio_transcription": transcription or {"model": "azure-speech"},
        "tools": tools,
        "tool_choice": "auto",
    }
    if config.voice:
        # Azure voices are named like "en-US-AvaMultilingualNeural"; OpenAI's are one word.
        session["voice"] = (
            {"name": config.voice, "type": "azure-standard"}
            if "-" in config.voice
            else config.voice
        )
    if config.noise_reduction:
        session["input_audio_noise_reduction"] = {"type": config.noise_reduction}
    if config.echo_cancellation:
        session["input_audio_echo_cancellation"] = {"type": "server_echo_cancellation"}
    if config.temperature is not None:
        session["temperature"] = config.temperature
    return {"type": "session.update", "session": session}


def append_audio(pcm: bytes) -> dict[str, Any]:
    """``input_audio_buffer.append`` with base64 PCM16 at 24 kHz."""
    return {"type": "input_audio_buffer.append", "audio": pybase64.b64encode_as_string(pcm)}


def response_create(line: str | None, tools: bool, dialect: Dialect) -> dict[str, Any]:
    """``response.create``; a ``line`` is spoken verbatim (Voice Live's pre-generated message)."""
    if line is None:
        return (
            {"type": "response.create"}
            if tools
            else {
                "type": "response.create",
                "response": {"tool_choice": "none"},
            }
        )
    if dialect is Dialect.VOICE_LIVE:
        message = {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": line}],
        }
        return {"type": "response.create", "response": {"pre_generated_assistant_message": message}}
    return {
        "type": "response.create",
        "response": {"instructions": LINE_INSTRUCTIONS + json.dumps(line), "tool_choice": "none"},
    }


def truncate(item_id: str, audio_end_ms: int) -> dict[str, Any]:
    """``conversation.item.truncate`` of the item's first (audio) content part."""
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": max(0, int(audio_end_ms)),
    }


def tool_output(call_id: str, output: str) -> dict[str, Any]:
    """A ``function_call_output`` item."""
    item = {"type": "function_call_output", "call_id": call_id, "output": output}
    return {"type": "conversation.item.create", "item": item}


def message_items(message: ChatMessage, dialect: Dialect) -> list[dict[str, Any]]:
    """Conversation items for one history message (system messages give none)."""
    items: list[dict[str, Any]] = []
    if message.role is Role.USER and message.text:
        content = [{"type": "input_text", "text": message.text}]
        items.append({"type": "message", "role": "user", "content": content})
    elif message.role is Role.ASSISTANT:
        if message.text:
            kind = "output_text" if dialect is Dialect.GA else "text"
            content = [{"type": kind, "text": message.text}]
            items.append({"type": "message", "role": "assistant", "content": content})
        for call in message.tool_calls:
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": json.dumps(dict(call.arguments)),
                }
            )
    elif message.role is Role.TOOL and message.tool_call_id:
        items.append(
            {
                "type": "function_call_output",
                "call_id": message.tool_call_id,
                "output": message.text,
            }
        )
    return [{"type": "conversation.item.create", "item": item} for item in items]


# --- server events ------------------------------------------------------------------------


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _SpeechStarted(_Event):
    audio_start_ms: float
    item_id: str = ""


class _SpeechStopped(_Event):
    audio_end_ms: float
    item_id: str = ""


class _TranscriptDelta(_Event):
    item_id: str = ""
    delta: str = ""


class _TranscriptDone(_Event):
    item_id: str = ""
    transcript: str = ""


class _ResponseRef(_Event):
    id: str


class _ResponseCreated(_Event):
    response: _ResponseRef


class _Delta(_Event):
    response_id: str
    item_id: str = ""
    delta: str | bytes


class _FunctionArgs(_Event):
    response_id: str
    item_id: str = ""
    call_id: str
    name: str | None = None
    arguments: str = ""


class _OutputItem(_Event):
    id: str = ""
    type: str = ""
    name: str | None = None
    call_id: str | None = None


class _OutputItemAdded(_Event):
    response_id: str = ""
    item: _OutputItem


class _Usage(_Event):
    input_tokens: int = 0
    output_tokens: int = 0


class _StatusDetails(_Event):
    type: str | None = None
    reason: str | None = None
    error: dict[str, Any] | None = None


class _ResponseBody(_Event):
    id: str
    status: str = "completed"
    status_details: _StatusDetails | None = None
    usage: _Usage | None = None


class _ResponseDone(_Event):
    response: _ResponseBody


class _ErrorBody(_Event):
    type: str | None = None
    code: str | None = None
    message: str | None = None


class _Error(_Event):
    error: _ErrorBody


AUDIO_DELTAS = frozenset({"response.output_audio.delta", "response.audio.delta"})
TRANSCRIPT_DELTAS = frozenset(
    {
        "response.output_audio_transcript.delta",
        "response.audio_transcript.delta",
        "response.output_text.delta",
        "response.text.delta",
    }
)
IGNORED = frozenset(
    {
        "session.created",
        "session.updated",
        "conversation.created",
        "conversation.item.created",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.retrieved",
        "conversation.item.truncated",
        "conversation.item.deleted",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        "input_audio_buffer.timeout_triggered",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_audio.done",
        "response.audio.done",
        "response.output_audio_transcript.done",
        "response.audio_transcript.done",
        "response.output_text.done",
        "response.text.done",
        "response.function_call_arguments.delta",
        "rate_limits.updated",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "output_audio_buffer.cleared",
        "response.audio_timestamp.delta",
        "response.audio_timestamp.done",
        "warning",
        "session.avatar.connecting",
    }
)
"""Known server events the session has no use for (not counted as dropped)."""


def _b64decode(text: str) -> bytes:
    """Strict base64: pybase64, and for what it refuses the stdlib's verdict (same answers)."""
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return base64.b64decode(text, validate=True)


class Malformed(ValueError):
    """A server message that is not a known, valid event (the session drops and counts it)."""


def error_from(code: str | None, kind: str | None, message: str | None) -> ProviderError:
    """The port error for a service error event."""
    text = message or code or kind or "realtime service error"
    key = f"{code or ''} {kind or ''}".lower()
    if "rate_limit" in key or "ratelimit" in key or "too_many" in key:
        return RateLimitedError(text, port=PORT)
    if "auth" in key or "unauthorized" in key or "forbidden" in key:
        return AuthenticationError(text, port=PORT)
    return ProviderError(text, port=PORT)


class Decoder:
    """Turns server messages into port events; keeps what spans events (function names).

    Args:
        fmt: The call's audio format (response audio is delivered in it).
        convert: Converts 24 kHz service audio to ``fmt`` (identity at 24 kHz).
    """

    def __init__(self, fmt: AudioFormat, convert: Any = None) -> None:
        self._service_fmt = AudioFormat(SERVICE_RATE_HZ)
        self._fmt = fmt
        self._convert = convert
        self._names: dict[str, str] = {}
        self.expired = False
        """The service said the session expired (its socket closes next)."""

    def _audio(self, data: dict[str, Any]) -> ResponseAudio:
        """A response audio delta; raises ``ValueError`` or ``ValidationError`` when invalid."""
        payload = data.get("delta")
        response_id = data.get("response_id")
        item_id = data.get("item_id", "")
        if type(payload) is str and type(response_id) is str and type(item_id) is str:
            pcm = _b64decode(payload)
        else:
            delta = _Delta.model_validate(data)
            response_id, item_id = delta.response_id, delta.item_id
            pcm = delta.delta if isinstance(delta.delta, bytes) else _b64decode(delta.delta)
        frame = AudioFrame(pcm, self._service_fmt)
        if self._convert is not None:
            frame = self._convert(frame)
        return ResponseAudio(response_id, item_id, frame)

    def decode(self, raw: bytes | str) -> RealtimeEvent | None:  # noqa: C901 (one branch per type)
        """The port event of one message, or None for a known event of no use.

        Raises:
            Malformed: Not JSON, no ``type``, an unknown type, or a known type that does not
                validate.
        """
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            try:
                data = json.loads(raw)  # what orjson refuses, json decides (NaN, lone surrogates)
            except (ValueError, TypeError) as exc:
                raise Malformed("not JSON") from exc
        if type(data) is not dict or type(data.get("type")) is not str:
            raise Malformed("no type")
        kind: str = data["type"]
        try:
            if kind in AUDIO_DELTAS:
                return self._audio(data)
            if kind in TRANSCRIPT_DELTAS:
                text = _Delta.model_validate(data)
                return ResponseTranscript(text.response_id, text.item_id, str(text.delta))
            if kind == "input_audio_buffer.speech_started":
                started = _SpeechStarted.model_validate(data)
                return SpeechStarted(started.audio_start_ms, started.item_id)
            if kind == "input_audio_buffer.speech_stopped":
                stopped = _SpeechStopped.model_validate(data)
                return SpeechStopped(stopped.audio_end_ms, stopped.item_id)
            if kind == "conversation.item.input_audio_transcription.delta":
                partial = _TranscriptDelta.model_validate(data)
                return InputTranscript(partial.item_id, partial.delta, False)
            if kind == "conversation.item.input_audio_transcription.completed":
                final = _TranscriptDone.model_validate(data)
                return InputTranscript(final.item_id, final.transcript, True)
            if kind == "conversation.item.input_audio_transcription.failed":
                return InputTranscript(_TranscriptDone.model_validate(data).item_id, "", True)
            if kind == "response.created":
                return ResponseStarted(_ResponseCreated.model_validate(data).response.id)
            if kind == "response.output_item.added":
                item = _OutputItemAdded.model_validate(data).item
                if item.type == "function_call" and item.call_id and item.name:
                    self._names[item.call_id] = item.name
                return None
            if kind == "response.function_call_arguments.done":
                args = _FunctionArgs.model_validate(data)
                name = args.name or self._names.pop(args.call_id, "")
                try:
                    arguments = json.loads(args.arguments) if args.arguments else {}
                except ValueError:
                    arguments = {}
                if not isinstance(arguments, dict):
                    arguments = {}
                return FunctionCall(args.response_id, ToolCall(args.call_id, name, arguments))
            if kind == "response.done":
                body = _ResponseDone.model_validate(data).response
                usage = body.usage or _Usage()
                code = None
                details = body.status_details
                if body.status == "failed":
                    failure = (details.error if details else None) or {}
                    code = error_from(failure.get("code"), failure.get("type"), None).code
                elif body.status == "incomplete" and details and details.reason == "content_filter":
                    code = "content_filtered"
                return ResponseFinished(
                    body.id, body.status, usage.input_tokens, usage.output_tokens, code
                )
            if kind == "error":
                error = _Error.model_validate(data).error
                if (error.code or "") == "session_expired":
                    self.expired = True
                port_error = error_from(error.code, error.type, error.message)
                return RealtimeError(
                    port_error, fatal=self.expired or isinstance(port_error, AuthenticationError)
                )
        except (ValidationError, ValueError) as invalid:
            raise Malformed(f"invalid {kind}") from invalid
        if kind in IGNORED:
            return None
        raise Malformed(f"unknown type {kind}")
