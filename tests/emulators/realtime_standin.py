"""A local stand-in for Azure Voice Live and OpenAI / Azure OpenAI Realtime (WebSocket).

It speaks the service side of the realtime protocol to the unmodified SDKs (``openai``'s
``realtime.connect``, ``azure.ai.voicelive.aio.connect``), in the OpenAI GA shape or Voice
Live's beta shape by path. Wire facts: docs/wire-protocols.md "Realtime speech-to-speech"
(OpenAI "Realtime API: server events", Microsoft "Voice Live API reference").

Paths and auth:
    * ``/v1/realtime?model=M`` and ``/openai/v1/realtime?model=M``: GA; ``Authorization:
      Bearer <bearer_token>`` (or ``api-key`` on the Azure path).
    * ``/openai/realtime?api-version=V&deployment=M``: GA (Azure deployment); ``api-key``.
    * ``/voice-live/realtime?api-version=V&model=M``: Voice Live; ``api-key`` or Bearer.

Service side: ``session.created`` at once; ``session.update`` stored and echoed; caller audio
(24 kHz PCM16) through its own energy VAD (``speech_started`` with ``prefix_padding_ms``,
``speech_stopped`` after ``silence_duration_ms``) unless turn detection is off, then
``committed``, the user item, and its transcription (``transcriber``: scripted lines or real
pocketsphinx recognition). ``response.create``: a line (Voice Live's
``pre_generated_assistant_message``, or GA instructions asking for verbatim words), else the
``responder``'s reply (scripted, or the offline dialog model as the agent); the reply's
transcript and synthesised audio (tones, or espeak-ng) stream in ``chunk_ms`` deltas, then its
function calls, then ``response.done`` with usage. ``response.cancel`` and
``conversation.item.truncate`` work as the services document; everything is recorded per
session for tests.

Faults (:class:`Faults`): refuse the upgrade (503), refuse the key (401), drop the socket after
N audio deltas, delay the first audio, answer ``response.create`` with a rate-limit error,
expire the session (error ``session_expired`` then close).

Run it by hand: ``python -m tests.emulators.realtime_standin --port N`` (agent mode on the
repository's agents, espeak-ng voices, pocketsphinx transcription when installed).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import math
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ports import (
    ChatMessage,
    ModelOptions,
    Role,
    TextDelta,
    ToolCall,
    ToolCallsRequested,
    ToolSpec,
    Voice,
)
from tests.emulators.speech_engines import (
    ScriptedTranscriber,
    Synthesizer,
    ToneSynthesizer,
    Transcriber,
)

logger = logging.getLogger(__name__)

RATE = 24000
API_KEY = "standin-key"
BEARER = "standin-token"
BENCH_REPLIES = (
    "Your current balance is one thousand two hundred dollars. Your last payment was received"
    " on Monday. Is there anything else I can help you with today?",
    "Sure, happy to help.",
)
LINE_PREFIX = (
    "Say exactly the following words to the caller, and nothing else, in your usual voice: "
)


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: spoken text, then function calls ``(name, arguments)``."""

    text: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()


Responder = Callable[["StandinSession"], Reply]


@dataclass(slots=True)
class Faults:
    """Fault modes; set them on a running stand-in between calls.

    Attributes:
        refuse: Refuse the WebSocket upgrade with 503.
        drop_after_audio: Close the socket after this many audio deltas of one session.
        slow_first_audio_s: Wait this long before a response's first delta.
        rate_limit_next: Answer the next ``response.create`` with a rate-limit error event.
        expire_after_responses: Send ``session_expired`` and close after this many responses.
    """

    refuse: bool = False
    drop_after_audio: int | None = None
    slow_first_audio_s: float = 0.0
    rate_limit_next: bool = False
    expire_after_responses: int | None = None


@dataclass(slots=True)
class Item:
    """A conversation item the stand-in keeps."""

    id: str
    type: str
    role: str = ""
    text: str = ""
    call_id: str = ""
    name: str = ""
    arguments: str = ""
    audio_ms: float = 0.0


@dataclass(slots=True)
class StandinSession:
    """One connection: what it was sent, what it keeps, what it answered."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    dialect: str
    session: dict[str, Any] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    truncations: list[tuple[str, int, float]] = field(default_factory=list)
    responses: int = 0
    audio_deltas: int = 0
    audio_in_ms: float = 0.0
    speech_started_at: list[float] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)
    conn: Any = None

    def received_types(self) -> list[str]:
        """Types of every client event received, in order (without audio appends)."""
        return [e["type"] for e in self.received if e.get("type") != "input_audio_buffer.append"]

    @property
    def instructions(self) -> str:
        """The session's instructions."""
        return str(self.session.get("instructions", ""))

    @property
    def tool_names(self) -> list[str]:
        """Names of the session's tools."""
        return [str(t.get("name")) for t in self.session.get("tools") or []]

    def turn_detection(self) -> dict[str, Any] | None:
        """The session's turn detection (None when off)."""
        if self.dialect == "ga":
            audio = self.session.get("audio") or {}
            return (audio.get("input") or {}).get("turn_detection")
        return self.session.get("turn_detection")

    def messages(self) -> list[ChatMessage]:
        """The conversation as chat messages (for a responder)."""
        out: list[ChatMessage] = []
        for item in self.items:
            if item.type == "message" and item.role == "user":
                out.append(ChatMessage(Role.USER, item.text))
            elif item.type == "message" and item.role == "assistant":
                out.append(ChatMessage(Role.ASSISTANT, item.text))
            elif item.type == "function_call":
                args = json.loads(item.arguments or "{}")
                out.append(
                    ChatMessage(Role.ASSISTANT, "", (ToolCall(item.call_id, item.name, args),))
                )
            elif item.type == "function_call_output":
                out.append(ChatMessage(Role.TOOL, item.text, tool_call_id=item.call_id))
        return out


class ScriptedResponder:
    """The next scripted reply per response; an echo of the last user text afterwards."""

    def __init__(self, replies: Sequence[Reply] = ()) -> None:
        self._replies = list(replies)

    def __call__(self, session: StandinSession) -> Reply:
        if self._replies:
            return self._replies.pop(0)
        said = next((m.text for m in reversed(session.messages()) if m.role is Role.USER), "")
        return Reply(f"You said: {said}." if said else "Hello.")


class ConstantTranscriber:
    """Every caller item is heard as the same text (benchmarks)."""

    def __init__(self, text: str) -> None:
        self._text = text

    def partial(self, pcm: bytes, rate_hz: int) -> str:
        return ""

    def final(self, pcm: bytes, rate_hz: int) -> str:
        return self._text


class AlternatingResponder:
    """Answers alternate between ``replies`` (benchmarks: a long answer, then a short one)."""

    def __init__(self, replies: Sequence[str]) -> None:
        self._replies = list(replies)
        self._next = 0

    def __call__(self, session: StandinSession) -> Reply:
        users = sum(1 for i in session.items if i.type == "message" and i.role == "user")
        return Reply(self._replies[(users - 1) % len(self._replies)] if users else "Hello.")


class AgentResponder:
    """The offline dialog model as the agent: the session's instructions name the agent.

    Args:
        model: A ``LanguageModel`` (the offline dialog model over the agent files).
        agents: Agent instructions -> agent name (what Parley puts in ``session.update``).
        default: Agent when the instructions match none.
    """

    def __init__(self, model: Any, agents: dict[str, str], default: str) -> None:
        self._model = model
        self._agents = agents
        self._default = default

    async def reply(self, session: StandinSession) -> Reply:
        agent = self._agents.get(session.instructions, self._default)
        tools = [
            ToolSpec(str(t["name"]), str(t.get("description", "")), t.get("parameters") or {})
            for t in session.session.get("tools") or []
        ]
        text: list[str] = []
        calls: list[tuple[str, dict[str, Any]]] = []
        async for event in self._model.stream(session.messages(), tools, ModelOptions(agent=agent)):
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ToolCallsRequested):
                calls.extend((c.name, dict(c.arguments)) for c in event.calls)
        return Reply("".join(text).strip(), tuple(calls))


class RealtimeStandin:
    """The stand-in's state and handlers; serve it with :func:`running_realtime_standin`.

    Args:
        transcriber: Transcribes each committed caller item.
        synthesizer: Speaks replies (24 kHz PCM16).
        responder: Answers ``response.create`` (a callable, or an :class:`AgentResponder`).
        chunk_ms: Audio per delta, ms.
        speed: Response audio is sent this many times faster than real time (0: at once).
        vad_rms: Energy (PCM16 RMS) above which a 20 ms window is speech.
    """

    def __init__(
        self,
        *,
        transcriber: Transcriber | None = None,
        synthesizer: Synthesizer | None = None,
        responder: Responder | AgentResponder | None = None,
        chunk_ms: int = 100,
        speed: float = 0.0,
        vad_rms: float = 400.0,
    ) -> None:
        self.transcriber: Transcriber = transcriber or ScriptedTranscriber([])
        self.synthesizer: Synthesizer = synthesizer or ToneSynthesizer()
        self.responder = responder or ScriptedResponder()
        self.chunk_ms = chunk_ms
        self.speed = speed
        self.vad_rms = vad_rms
        self.faults = Faults()
        self.sessions: list[StandinSession] = []
        self.rejected = 0
        self.base_url = ""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count(1)

    def run(self, coro: Any) -> Any:
        """Run ``coro`` on the stand-in's loop from another thread; its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=5)

    def send_raw(self, session: StandinSession, message: str) -> None:
        """Send ``message`` verbatim on ``session``'s socket (malformed-event tests)."""
        self.run(session.conn.ws.send(message))

    def drop(self, session: StandinSession) -> None:
        """Close ``session``'s socket as a service would on error (code 1011); no waiting
        for the client's closing handshake (the caller may be the client's own thread)."""
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(session.conn.ws.close(1011, "dropped"), self.loop)

    def new_id(self, prefix: str) -> str:
        """A fresh id (``item_3``, ``resp_4``)."""
        return f"{prefix}_{next(self._ids)}"

    # --- handshake ---------------------------------------------------------------------

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Check path and credentials before the upgrade (401, 404, 503)."""
        url = urlparse(request.path)
        if self.faults.refuse:
            return connection.respond(503, "service unavailable\n")
        if not url.path.endswith("/realtime"):
            return connection.respond(404, "not found\n")
        key = request.headers.get("api-key")
        auth = request.headers.get("Authorization", "")
        if key != API_KEY and auth != f"Bearer {BEARER}" and auth != f"Bearer {API_KEY}":
            self.rejected += 1
            return connection.respond(401, "unauthorized\n")
        return None

    async def handle(self, ws: ServerConnection) -> None:
        """One connection: the service side of one session."""
        request = ws.request
        assert request is not None
        url = urlparse(request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        dialect = "voicelive" if url.path.endswith("/voice-live/realtime") else "ga"
        session = StandinSession(url.path, query, dict(request.headers.raw_items()), dialect)
        self.sessions.append(session)
        conn = _Conn(self, ws, session)
        session.conn = conn
        try:
            await conn.run()
        except ConnectionClosed:
            pass
        finally:
            conn.stop()
            session.closed.set()


class _Conn:
    """The running side of one :class:`StandinSession`."""

    def __init__(self, standin: RealtimeStandin, ws: ServerConnection, session: StandinSession):
        self.s = standin
        self.ws = ws
        self.session = session
        self.ga = session.dialect == "ga"
        self.audio = bytearray()
        self.speech_at: float | None = None
        self.item_id = ""
        self.quiet_ms = 0.0
        self.loud_ms = 0.0
        self.response: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", self.s.new_id("event"))
        await self.ws.send(json.dumps(event))

    async def run(self) -> None:
        await self.send({"type": "session.created", "session": {"id": self.s.new_id("sess")}})
        async for raw in self.ws:
            try:
                event = json.loads(raw)
            except ValueError:
                await self.error("invalid_request_error", "invalid_json", "not JSON")
                continue
            self.session.received.append(event)
            await self.on_event(event)

    def stop(self) -> None:
        for task in [*self.tasks, *([self.response] if self.response else [])]:
            task.cancel()

    async def error(self, kind: str, code: str, message: str) -> None:
        await self.send(
            {"type": "error", "error": {"type": kind, "code": code, "message": message}}
        )

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def on_event(self, event: dict[str, Any]) -> None:  # noqa: C901 (one branch per type)
        kind = event.get("type")
        if kind == "input_audio_buffer.append":
            await self.on_audio(base64.b64decode(event.get("audio", "")))
        elif kind == "session.update":
            self.session.session.update(event.get("session") or {})
            await self.send({"type": "session.updated", "session": self.session.session})
        elif kind == "input_audio_buffer.commit":
            await self.commit(self.s.new_id("item"))
        elif kind == "input_audio_buffer.clear":
            self.audio.clear()
            await self.send({"type": "input_audio_buffer.cleared"})
        elif kind == "conversation.item.create":
            await self.add_item(event.get("item") or {})
        elif kind == "conversation.item.truncate":
            await self.truncate(event)
        elif kind == "response.create":
            if self.response is not None and not self.response.done():
                await self.error(
                    "invalid_request_error",
                    "conversation_already_has_active_response",
                    "Conversation already has an active response",
                )
                return
            if self.s.faults.rate_limit_next:
                self.s.faults.rate_limit_next = False
                await self.error("rate_limit_error", "rate_limit_exceeded", "Rate limit reached")
                return
            self.response = asyncio.get_running_loop().create_task(
                self.respond(event.get("response") or {})
            )
        elif kind == "response.cancel":
            if self.response is not None and not self.response.done():
                self.response.cancel()
        else:
            await self.error("invalid_request_error", "unknown_event", f"unknown type {kind}")

    # --- caller side -------------------------------------------------------------------

    async def on_audio(self, pcm: bytes) -> None:
        session = self.session
        at = session.audio_in_ms
        session.audio_in_ms += len(pcm) / 2 / RATE * 1000
        self.audio += pcm
        detection = session.turn_detection()
        if detection is None:
            return
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32)
        loud = samples.size > 0 and float(np.sqrt(np.mean(samples * samples))) > self.s.vad_rms
        duration = samples.size / RATE * 1000
        if self.speech_at is None:
            # Outside speech the buffer keeps only what the next onset's padding may need.
            keep = RATE * 2 * int(detection.get("prefix_padding_ms", 300) + 200) // 1000
            if len(self.audio) > 2 * keep:
                del self.audio[: len(self.audio) - keep]
            self.loud_ms = self.loud_ms + duration if loud else 0.0
            if self.loud_ms >= 60:
                padding = float(detection.get("prefix_padding_ms", 300))
                self.speech_at = max(0.0, at - self.loud_ms + duration - padding)
                self.quiet_ms = 0.0
                self.item_id = self.s.new_id("item")
                session.speech_started_at.append(self.speech_at)
                await self.send(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": int(self.speech_at),
                        "item_id": self.item_id,
                    }
                )
            return
        self.quiet_ms = 0.0 if loud else self.quiet_ms + duration
        if self.quiet_ms >= float(detection.get("silence_duration_ms", 500)):
            end = session.audio_in_ms - self.quiet_ms
            self.speech_at = None
            self.loud_ms = 0.0
            await self.send(
                {
                    "type": "input_audio_buffer.speech_stopped",
                    "audio_end_ms": int(end),
                    "item_id": self.item_id,
                }
            )
            await self.commit(self.item_id)

    async def commit(self, item_id: str) -> None:
        pcm = bytes(self.audio)
        self.audio.clear()
        await self.send({"type": "input_audio_buffer.committed", "item_id": item_id})
        item = Item(item_id, "message", role="user")
        self.session.items.append(item)
        await self.item_added(item)
        self.spawn(self.transcribe(item, pcm))

    async def transcribe(self, item: Item, pcm: bytes) -> None:
        text = await asyncio.to_thread(self.s.transcriber.final, pcm, RATE)
        item.text = text
        if text:
            await self.send(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item.id,
                    "content_index": 0,
                    "delta": text.split()[0],
                }
            )
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item.id,
                "content_index": 0,
                "transcript": text,
            }
        )

    async def item_added(self, item: Item) -> None:
        body: dict[str, Any] = {"id": item.id, "type": item.type}
        if item.role:
            body["role"] = item.role
        kinds = ("conversation.item.added",) if self.ga else ("conversation.item.created",)
        for kind in kinds:
            await self.send({"type": kind, "item": body})

    async def add_item(self, raw: dict[str, Any]) -> None:
        kind = str(raw.get("type", ""))
        item = Item(
            str(raw.get("id") or self.s.new_id("item")), kind, role=str(raw.get("role", ""))
        )
        if kind == "message":
            item.text = " ".join(
                str(part.get("text") or part.get("transcript") or "")
                for part in raw.get("content") or []
            )
        elif kind == "function_call":
            item.call_id = str(raw.get("call_id", ""))
            item.name = str(raw.get("name", ""))
            item.arguments = str(raw.get("arguments", "{}"))
        elif kind == "function_call_output":
            item.call_id = str(raw.get("call_id", ""))
            item.text = str(raw.get("output", ""))
        else:
            await self.error("invalid_request_error", "invalid_value", f"item type {kind}")
            return
        self.session.items.append(item)
        await self.item_added(item)

    async def truncate(self, event: dict[str, Any]) -> None:
        item_id = str(event.get("item_id"))
        end_ms = int(event.get("audio_end_ms", 0))
        item = next((i for i in self.session.items if i.id == item_id), None)
        if item is None or item.role != "assistant":
            await self.error("invalid_request_error", "item_not_found", f"no item {item_id}")
            return
        self.session.truncations.append((item_id, end_ms, item.audio_ms))
        if end_ms > item.audio_ms + 1:
            await self.error(
                "invalid_request_error", "invalid_value", "audio_end_ms is past the audio"
            )
            return
        words = item.text.split()
        keep = int(len(words) * end_ms / item.audio_ms) if item.audio_ms else 0
        item.text = " ".join(words[:keep])
        item.audio_ms = float(end_ms)
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": end_ms,
            }
        )

    # --- responses ---------------------------------------------------------------------

    async def reply_for(self, request: dict[str, Any]) -> Reply:
        pre = request.get("pre_generated_assistant_message")
        if isinstance(pre, dict):
            return Reply(" ".join(str(p.get("text", "")) for p in pre.get("content") or []))
        instructions = str(request.get("instructions") or "")
        if instructions.startswith(LINE_PREFIX):
            return Reply(str(json.loads(instructions[len(LINE_PREFIX) :])))
        responder = self.s.responder
        if isinstance(responder, AgentResponder):
            return await responder.reply(self.session)
        return responder(self.session)

    async def respond(self, request: dict[str, Any]) -> None:
        s, session = self.s, self.session
        rid = s.new_id("resp")
        session.responses += 1
        await self.send(
            {"type": "response.created", "response": {"id": rid, "status": "in_progress"}}
        )
        status = "completed"
        reply = Reply()
        output: list[dict[str, Any]] = []
        try:
            reply = await self.reply_for(request)
            if s.faults.slow_first_audio_s:
                await asyncio.sleep(s.faults.slow_first_audio_s)
            if reply.text:
                output.append(await self.speak(rid, reply.text))
            for name, arguments in reply.tool_calls:
                output.append(await self.call(rid, name, arguments))
        except asyncio.CancelledError:
            status = "cancelled"
        body = {
            "id": rid,
            "status": status,
            "output": output,
            "usage": {
                "input_tokens": 50,
                "output_tokens": len(reply.text.split()) * 4,
                "total_tokens": 50 + len(reply.text.split()) * 4,
            },
        }
        with contextlib.suppress(ConnectionClosed):
            await self.send({"type": "response.done", "response": body})
            expire = s.faults.expire_after_responses
            if expire is not None and session.responses >= expire:
                s.faults.expire_after_responses = None
                await self.error(
                    "invalid_request_error",
                    "session_expired",
                    "Your session hit the maximum duration of 60 minutes.",
                )
                await self.ws.close(1000, "session expired")

    async def speak(self, rid: str, text: str) -> dict[str, Any]:
        s, session = self.s, self.session
        item = Item(s.new_id("item"), "message", role="assistant", text=text)
        session.items.append(item)
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": 0,
                "item": {
                    "id": item.id,
                    "type": "message",
                    "role": "assistant",
                    "status": "in_progress",
                },
            }
        )
        spoken = await s.synthesizer.synthesize(text, RATE, Voice())
        pcm = spoken.pcm
        chunk = RATE * 2 * s.chunk_ms // 1000
        pieces = max(1, math.ceil(len(pcm) / chunk))
        audio_kind = "response.output_audio.delta" if self.ga else "response.audio.delta"
        text_kind = (
            "response.output_audio_transcript.delta"
            if self.ga
            else "response.audio_transcript.delta"
        )
        words = list(spoken.words)
        said = 0
        for index in range(pieces):
            end_ms = (index + 1) * s.chunk_ms
            while said < len(words) and words[said].start_ms < end_ms:
                word = words[said]
                delta = (
                    text[: word.char_offset + len(word.text)]
                    if said == 0
                    else text[
                        words[said - 1].char_offset + len(words[said - 1].text) : word.char_offset
                        + len(word.text)
                    ]
                )
                said += 1
                await self.send(
                    {
                        "type": text_kind,
                        "response_id": rid,
                        "item_id": item.id,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": delta,
                    }
                )
            data = pcm[index * chunk : (index + 1) * chunk]
            if data:
                await self.send(
                    {
                        "type": audio_kind,
                        "response_id": rid,
                        "item_id": item.id,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": base64.b64encode(data).decode(),
                    }
                )
                item.audio_ms += len(data) / 2 / RATE * 1000
                session.audio_deltas += 1
                drop = s.faults.drop_after_audio
                if drop is not None and session.audio_deltas >= drop:
                    s.faults.drop_after_audio = None
                    await self.ws.close(1011, "dropped")
                    raise asyncio.CancelledError
            await asyncio.sleep(s.chunk_ms / 1000 / s.speed if s.speed else 0)
        # The words not sent yet (and the punctuation after the last one).
        rest = text[words[said - 1].char_offset + len(words[said - 1].text) :] if said else text
        if rest:
            await self.send(
                {
                    "type": text_kind,
                    "response_id": rid,
                    "item_id": item.id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": rest,
                }
            )
        done = "response.output_audio.done" if self.ga else "response.audio.done"
        await self.send(
            {
                "type": done,
                "response_id": rid,
                "item_id": item.id,
                "output_index": 0,
                "content_index": 0,
            }
        )
        return {"id": item.id, "type": "message", "role": "assistant", "status": "completed"}

    async def call(self, rid: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        s = self.s
        call_id = s.new_id("call")
        item = Item(
            s.new_id("item"),
            "function_call",
            call_id=call_id,
            name=name,
            arguments=json.dumps(arguments),
        )
        self.session.items.append(item)
        head = {"id": item.id, "type": "function_call", "call_id": call_id, "name": name}
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": 1,
                "item": head,
            }
        )
        await self.send(
            {
                "type": "response.function_call_arguments.delta",
                "response_id": rid,
                "item_id": item.id,
                "call_id": call_id,
                "delta": item.arguments,
            }
        )
        await self.send(
            {
                "type": "response.function_call_arguments.done",
                "response_id": rid,
                "item_id": item.id,
                "call_id": call_id,
                "name": name,
                "arguments": item.arguments,
            }
        )
        return {**head, "arguments": item.arguments}


@contextlib.contextmanager
def running_realtime_standin(
    standin: RealtimeStandin | None = None, *, port: int = 0
) -> Iterator[RealtimeStandin]:
    """Serve a stand-in on 127.0.0.1 in a thread with its own loop; stop it on exit."""
    standin = standin or RealtimeStandin()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Server] = {}

    async def start() -> None:
        server = await serve(
            standin.handle,
            "127.0.0.1",
            port,
            process_request=standin.process_request,
            max_size=2**22,
            compression=None,
        )
        holder["server"] = server
        standin.loop = loop
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name="realtime-standin", daemon=True)
    thread.start()
    if not ready.wait(5):
        raise RuntimeError("realtime stand-in did not start")
    server = holder["server"]
    host, bound = next(iter(server.sockets)).getsockname()[:2]
    standin.base_url = f"http://{host}:{bound}"
    try:
        yield standin
    finally:

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def agent_standin(agents_dir: str = "agents") -> RealtimeStandin:
    """A stand-in in agent mode over ``agents_dir`` (offline dialog model, local engines)."""
    from pathlib import Path

    from adapters.local.dialog import OfflineDialogModel
    from bootstrap.agents import load_agents
    from tests.emulators.speech_engines import PocketsphinxTranscriber, default_synthesizer

    loaded = load_agents(Path(agents_dir))
    model = OfflineDialogModel(loaded.dialog_agents, default_agent=loaded.graph.start)
    by_instructions = {a.instructions: a.name for a in loaded.graph.agents}
    return RealtimeStandin(
        transcriber=PocketsphinxTranscriber(),
        synthesizer=default_synthesizer(),
        responder=AgentResponder(model, by_instructions, loaded.graph.start),
    )


def main() -> None:
    """Serve the stand-in in agent mode until interrupted, printing the env to point at it."""
    import argparse

    parser = argparse.ArgumentParser(description="Local Voice Live / OpenAI Realtime stand-in")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--agents", default="agents", help="agents folder for agent mode")
    parser.add_argument(
        "--scripted",
        action="store_true",
        help="benchmark mode: every caller turn is heard as 'what is my balance', answers"
        " alternate between a long and a short line, spoken as tones",
    )
    args = parser.parse_args()
    logging.getLogger("websockets").setLevel(logging.ERROR)
    standin = (
        RealtimeStandin(
            transcriber=ConstantTranscriber("what is my balance"),
            responder=AlternatingResponder(BENCH_REPLIES),
        )
        if args.scripted
        else agent_standin(args.agents)
    )
    with running_realtime_standin(standin, port=args.port) as standin:
        base = standin.base_url
        sys.stdout.write(
            f"PARLEY_PIPELINE=realtime PARLEY_REALTIME=voicelive AZURE_VOICELIVE_ENDPOINT={base} "
            f"AZURE_VOICELIVE_API_KEY={API_KEY}\n"
            f"PARLEY_PIPELINE=realtime PARLEY_REALTIME=openai OPENAI_BASE_URL={base}/v1 "
            f"OPENAI_API_KEY={BEARER}\n"
        )
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
