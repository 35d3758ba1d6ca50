"""A local stand-in for the Azure AI Speech service, speaking its WebSocket protocol (USP).

The real ``azure-cognitiveservices-speech`` SDK (1.53.0, pinned) connects to it with
``SpeechConfig(host="ws://127.0.0.1:PORT", subscription=KEY)`` or an ``endpoint=ws://...``, so
the Azure Speech adapters are tested offline with the real SDK. Wire facts:
docs/wire-protocols.md, "Azure AI Speech SDK", :mod:`tests.emulators.usp`, and what the SDK
was seen doing against a logging server (listed in this module's notes below).

Paths:
    * ``/speech/recognition/{interactive|conversation|dictation}/cognitiveservices/v1``:
      recognition. The SDK sends ``speech.config`` and ``speech.context`` (phrase list under
      ``dgi``, ``languageId``, ``phraseDetection...segmentationSilenceTimeoutMs``), then per
      turn a binary ``audio`` frame whose payload is a 44-byte RIFF header, then audio (100 ms
      per frame), and an empty payload at the end of the stream. The stand-in answers
      ``turn.start`` (``{"context":{"serviceTag":...}}``) to the RIFF header, then, per segment
      found by an energy detector, ``speech.startDetected`` (first segment of the turn),
      ``speech.hypothesis`` (``Text``, ``Offset``, ``Duration``) and ``speech.phrase``
      (``RecognitionStatus`` ``Success`` or ``NoMatch``, ``DisplayText``, ``Offset``,
      ``Duration``); after the empty payload ``speech.endDetected`` and ``turn.end``.
      Offsets and durations are 100 ns ticks relative to the turn's first audio byte; the SDK
      adds the turn's base (``continuation.audio.streams.1.offset`` in ``speech.context``).
    * ``/cognitiveservices/websocket/v1`` (and ``v2``): synthesis. The SDK sends
      ``speech.config``, ``synthesis.context`` (``synthesis.audio.outputFormat``, e.g.
      ``raw-16khz-16bit-mono-pcm``; v2 adds ``input.bidirectionalStreamingMode``), then
      ``ssml`` or ``text.piece`` frames closed by ``text.end``. The stand-in answers
      ``turn.start``, ``response``, then per word an ``audio.metadata`` frame
      (``{"Metadata":[{"Type":"WordBoundary","Data":{"Offset","Duration","text":{"Text",
      "Length","BoundaryType":"WordBoundary"}}}]}``, ticks from the synthesis start) followed by
      binary ``Path: audio`` frames, and ``turn.end``.

Auth: header ``Ocp-Apim-Subscription-Key`` (key) or ``Authorization: Bearer <token>`` (an
Entra or STS token); anything else gets HTTP 401, which the SDK reports as
``CancellationErrorCode.AuthenticationFailure``.

Fault modes (:class:`Faults`, changeable while running): refuse connections (stop listening:
the SDK sees ``ConnectionFailure``), answer the upgrade with an HTTP status (401, 429, 503),
drop connections mid-stream (TCP abort after some audio), delay the first result.

Notes from experiments with SDK 1.53.0:
    * Continuous recognition survives a dropped socket by itself: the SDK reconnects and
      re-sends the audio after the last acknowledged offset (the end of the last
      ``speech.phrase``). It reports ``canceled`` (``Error``/``ConnectionFailure``) only when
      the reconnect fails (about 1 s after the drop when nothing listens).
    * After ``turn.end`` in continuous mode the SDK opens a new turn (new ``X-RequestId``,
      ``speech.context`` with ``continuation``) and re-sends unacknowledged audio.
    * HTTP 401/403 at the upgrade -> ``AuthenticationFailure`` at once; 429 ->
      ``TooManyRequests``, 500 -> ``ServiceError``, 503 -> ``ServiceUnavailable`` (after the
      SDK's own retries, about 1 s); close 1011/1013 -> ``ServiceError``; other closes ->
      ``ConnectionFailure``.
    * ``stop_speaking_async`` closes the synthesis socket (code 1000); the next synthesis on
      that synthesizer opens a new one.
    * In text-stream mode (v2) the SDK's word boundary ``text_offset`` is -1.

Run it from tests with :func:`running_speech_standin` (its own thread and event loop, port 0)
or from a shell: ``python -m tests.emulators.speech_standin --port 8790``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http
import logging
import re
import threading
import uuid
import xml.etree.ElementTree as ET  # noqa: S405 - parses SSML the SDK under test built
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from adapters.audio import mulaw_encode
from ports import Voice
from tests.emulators import usp
from tests.emulators.speech_engines import (
    PocketsphinxTranscriber,
    ScriptedTranscriber,
    Synthesized,
    Synthesizer,
    ToneSynthesizer,
    Transcriber,
    default_synthesizer,
)

logger = logging.getLogger(__name__)

DEFAULT_KEY = "standin-speech-key"
DEFAULT_TOKEN = "standin-speech-token"
TICKS_PER_MS = 10_000
"""The service's time unit is 100 ns: 10,000 ticks per millisecond."""

_RECOGNITION_PATH = re.compile(r"^/speech/recognition/(interactive|conversation|dictation)/")
_SYNTHESIS_PATH = re.compile(r"^/cognitiveservices/websocket/v(1|2)")
_RAW_FORMAT = re.compile(r"^raw-(\d+)khz-(16bit-mono-pcm|8bit-mono-mulaw)$")
_SSML_NS = "{http://www.w3.org/2001/10/synthesis}"
_MSTTS_NS = "{http://www.w3.org/2001/mstts}"


@dataclass(slots=True)
class Faults:
    """Failures the stand-in injects; tests change them while it runs.

    Attributes:
        reject_status: Answer WebSocket upgrades with this HTTP status (e.g. 503, 429) while
            ``reject_count`` > 0 (``None``: accept).
        reject_count: How many upgrades to reject; decremented per rejection (-1: all).
        auth_failure: Answer every upgrade with 401, whatever the credentials.
        drop_after_audio_ms: Abort the TCP connection once this much caller audio (ms) has
            arrived on one recognition connection.
        drop_after_chunks: Abort a synthesis connection after sending this many audio frames.
        drop_count: How many connections to drop before behaving again (-1: all).
        first_result_delay_ms: Delay before the first result (recognition) or first audio
            (synthesis) of each connection.
        chunk_interval_ms: Pause between synthesis audio frames (0: as fast as possible).
    """

    reject_status: int | None = None
    reject_count: int = -1
    auth_failure: bool = False
    drop_after_audio_ms: float | None = None
    drop_after_chunks: int | None = None
    drop_count: int = 1
    first_result_delay_ms: float = 0.0
    chunk_interval_ms: float = 0.0


@dataclass(slots=True)
class ConnectionRecord:
    """What one WebSocket connection carried (for assertions).

    Attributes:
        path: Request path with query string.
        headers: Upgrade request headers (names lower-cased; keys redacted).
        messages: ``(path, request id)`` of every message received, in order.
        audio: Caller audio per turn request id (recognition), RIFF header excluded.
        contexts: Parsed ``speech.context`` / ``synthesis.context`` bodies.
        ssml: SSML documents received (synthesis).
        text_pieces: ``text.piece`` bodies received (synthesis, v2).
        dropped: True when the stand-in aborted this connection on purpose.
        connection_id: Identity of the server connection (see :meth:`SpeechStandIn.is_open`).
        audio_frames_sent: Synthesis ``audio`` frames sent on this connection.
    """

    path: str
    headers: dict[str, str]
    messages: list[tuple[str, str]] = field(default_factory=list)
    audio: dict[str, bytearray] = field(default_factory=dict)
    contexts: list[dict[str, Any]] = field(default_factory=list)
    ssml: list[str] = field(default_factory=list)
    text_pieces: list[str] = field(default_factory=list)
    dropped: bool = False
    connection_id: int = 0
    audio_frames_sent: int = 0


@dataclass(frozen=True, slots=True)
class SsmlRequest:
    """The parts of an SSML document the stand-in uses (and tests check).

    Attributes:
        text: The spoken text (XML unescaped).
        voice: ``<voice name>``.
        language: ``xml:lang`` of ``<speak>``.
        style: ``<mstts:express-as style>``.
        rate: ``<prosody rate>`` as written (e.g. ``+10.00%``).
        pitch: ``<prosody pitch>`` as written.
    """

    text: str
    voice: str | None = None
    language: str | None = None
    style: str | None = None
    rate: str | None = None
    pitch: str | None = None


def parse_ssml(document: str) -> SsmlRequest:
    """Read text, voice, style, rate and pitch out of an SSML document.

    Raises:
        xml.etree.ElementTree.ParseError: Not well-formed XML.
    """
    root = ET.fromstring(document)  # noqa: S314 - trusted input from the SDK under test
    voice = root.find(f"{_SSML_NS}voice")
    scope = voice if voice is not None else root
    style_el = scope.find(f".//{_MSTTS_NS}express-as")
    prosody = scope.find(f".//{_SSML_NS}prosody")
    return SsmlRequest(
        text="".join(scope.itertext()),
        voice=voice.get("name") if voice is not None else None,
        language=root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        style=style_el.get("style") if style_el is not None else None,
        rate=prosody.get("rate") if prosody is not None else None,
        pitch=prosody.get("pitch") if prosody is not None else None,
    )


def _rate_factor(rate: str | None) -> float:
    # SSML relative rate "+10.00%" -> 1.1; anything unparsable -> 1.0.
    if rate and rate.endswith("%"):
        with contextlib.suppress(ValueError):
            return max(0.1, 1.0 + float(rate[:-1]) / 100.0)
    return 1.0


class _Segmenter:
    """Energy-based segmentation of one turn's audio into utterances (10 ms windows)."""

    def __init__(self, rate_hz: int, silence_ms: float, threshold: float) -> None:
        self.rate_hz = rate_hz
        self.window = rate_hz // 100 * 2  # bytes per 10 ms
        self.silence_ms = silence_ms
        self.threshold = threshold
        self.audio = bytearray()
        self.scanned = 0
        self.start: int | None = None  # byte offset of the open segment
        self.last_voiced_end = 0
        self.next_partial_at = 0

    def feed(self, data: bytes) -> list[tuple[int, int]]:
        """Add audio; return segments (start, end byte offsets) closed by enough silence."""
        self.audio += data
        closed: list[tuple[int, int]] = []
        while self.scanned + self.window <= len(self.audio):
            chunk = np.frombuffer(
                self.audio, dtype="<i2", count=self.window // 2, offset=self.scanned
            )
            rms = float(np.sqrt(np.mean(chunk.astype(np.float32) ** 2)))
            end = self.scanned + self.window
            if rms >= self.threshold:
                if self.start is None:
                    self.start = self.scanned
                    self.next_partial_at = self.scanned + self.bytes_for(300)
                self.last_voiced_end = end
            elif self.start is not None and end - self.last_voiced_end >= self.bytes_for(
                self.silence_ms
            ):
                closed.append((self.start, self.last_voiced_end))
                self.start = None
            self.scanned = end
        return closed

    def close(self) -> list[tuple[int, int]]:
        """End of audio: close the open segment, if any."""
        if self.start is None:
            return []
        segment = (self.start, self.last_voiced_end)
        self.start = None
        return [segment]

    def bytes_for(self, ms: float) -> int:
        return int(self.rate_hz * ms / 1000) * 2

    def ticks(self, n_bytes: int) -> int:
        return n_bytes * 1000 * TICKS_PER_MS // (2 * self.rate_hz)


class SpeechStandIn:
    """The stand-in server. Use :func:`running_speech_standin` to run it in a thread.

    Args:
        key: Subscription key accepted in ``Ocp-Apim-Subscription-Key``.
        tokens: Bearer tokens accepted in ``Authorization``.
        transcriber: Text for each recognised segment (default: pocketsphinx, real text).
        synthesizer: Audio for synthesis (default: espeak-ng when installed, else tones).
        silence_ms: Segmentation silence when the SDK does not set one (ms).
        energy_threshold: RMS (PCM16 units) above which a 10 ms window counts as speech.
        chunk_ms: Audio per synthesis ``audio`` frame (ms).
    """

    def __init__(
        self,
        *,
        key: str = DEFAULT_KEY,
        tokens: tuple[str, ...] = (DEFAULT_TOKEN,),
        transcriber: Transcriber | None = None,
        synthesizer: Synthesizer | None = None,
        silence_ms: float = 500.0,
        energy_threshold: float = 300.0,
        chunk_ms: int = 100,
    ) -> None:
        self.key = key
        self.tokens = tokens
        self.transcriber: Transcriber = transcriber or PocketsphinxTranscriber()
        self.synthesizer: Synthesizer = synthesizer or default_synthesizer()
        self.silence_ms = silence_ms
        self.energy_threshold = energy_threshold
        self.chunk_ms = chunk_ms
        self.faults = Faults()
        self.connections: list[ConnectionRecord] = []
        self.port = 0
        self._server: Server | None = None
        self._active: set[ServerConnection] = set()
        # Every TCP connection from connection_made on, handshake or not: websockets aborts a
        # transport on errors but not on cancellation, so shutdown aborts these itself.
        self._transports: set[ServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # ----- addresses -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """``ws://127.0.0.1:PORT`` for ``SpeechConfig(host=...)``."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def recognition_endpoint(self) -> str:
        """Full recognition URL for ``SpeechConfig(endpoint=...)``."""
        return f"{self.host}/speech/recognition/conversation/cognitiveservices/v1"

    def synthesis_endpoint(self, *, text_stream: bool = False) -> str:
        """Synthesis URL: v1, or v2 for text-stream input."""
        return f"{self.host}/cognitiveservices/websocket/v{2 if text_stream else 1}"

    # ----- lifecycle -------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 (``port`` 0: a free port, kept across stop/start_listening)."""
        self._loop = asyncio.get_running_loop()
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            port or self.port,
            subprotocols=[Subprotocol("USP")],
            process_request=self._process_request,
            max_size=None,
            compression=None,
            ping_interval=None,
            create_connection=_tracking_connection(self._transports),
        )
        self.port = self._server.sockets[0].getsockname()[1]
        logger.info("speech stand-in listening on %s", self.host)

    async def stop(self) -> None:
        """Stop listening and drop every connection at once (no close handshake)."""
        if self._server is not None:
            server, self._server = self._server, None
            server.close(close_connections=False)
            for ws in list(self._active | self._transports):
                _abort(ws)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2)

    def is_open(self, record: ConnectionRecord) -> bool:
        """True while the connection behind ``record`` is still open."""
        return any(id(ws) == record.connection_id for ws in self._active)

    async def drop_connections(self) -> int:
        """Fault: abort every open connection now (TCP drop, no close frame); keep listening.

        Returns:
            How many connections were dropped.
        """
        for ws in list(self._active):
            for record in self.connections:
                if record.connection_id == id(ws):
                    record.dropped = True
            _abort(ws)
        return len(self._active)

    async def stop_listening(self) -> None:
        """Fault: close the listening socket and every connection (connects are refused)."""
        await self.stop()

    async def start_listening(self) -> None:
        """Listen again on the same port after :meth:`stop_listening`."""
        await self.start(self.port)

    def call(self, coro: Any, timeout: float = 5.0) -> Any:
        """Run a coroutine of this stand-in on its loop from another thread; return its result."""
        if self._loop is None:
            raise RuntimeError("stand-in not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def reset(self) -> None:
        """Clear faults and records."""
        self.faults = Faults()
        self.connections.clear()

    # ----- handshake -------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        faults = self.faults
        if faults.reject_status is not None and faults.reject_count != 0:
            if faults.reject_count > 0:
                faults.reject_count -= 1
            status = http.HTTPStatus(faults.reject_status)
            return connection.respond(status, f"{status.phrase}\n")
        key = request.headers.get("Ocp-Apim-Subscription-Key")
        bearer = request.headers.get("Authorization", "")
        token = bearer[7:] if bearer.lower().startswith("bearer ") else None
        if faults.auth_failure or not (key == self.key or (token and token in self.tokens)):
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unauthorized\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        headers = {}
        if ws.request is not None:
            for name, value in ws.request.headers.raw_items():
                redacted = name.lower() in ("ocp-apim-subscription-key", "authorization")
                headers[name.lower()] = "<redacted>" if redacted else value
        record = ConnectionRecord(path, headers, connection_id=id(ws))
        self.connections.append(record)
        self._active.add(ws)
        try:
            if _RECOGNITION_PATH.match(path):
                await _Recognition(self, ws, record).run()
            elif _SYNTHESIS_PATH.match(path):
                await _Synthesis(self, ws, record).run()
            else:
                await ws.close(1008, f"unknown path {path}")
        except ConnectionClosed:
            pass
        except Exception:
            logger.exception("speech stand-in handler failed")
            with contextlib.suppress(ConnectionClosed):
                await ws.close(1011, "stand-in error")
        finally:
            self._active.discard(ws)

    def _take_drop(self) -> bool:
        faults = self.faults
        if faults.drop_count == 0:
            return False
        if faults.drop_count > 0:
            faults.drop_count -= 1
        return True


def _abort(ws: ServerConnection) -> None:
    # A real drop: no close frame, the TCP connection just goes away.
    ws.transport.abort()


def _tracking_connection(registry: set[ServerConnection]) -> type[ServerConnection]:
    """A ServerConnection class that keeps itself in ``registry`` while its TCP link lives."""

    class TrackedConnection(ServerConnection):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            registry.add(self)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            registry.discard(self)
            super().connection_lost(exc)

    return TrackedConnection


class _Recognition:
    """Service side of one recognition connection."""

    def __init__(self, standin: SpeechStandIn, ws: ServerConnection, record: ConnectionRecord):
        self.standin = standin
        self.ws = ws
        self.record = record
        self.request_id = ""
        self.segmenter: _Segmenter | None = None
        self.silence_ms = standin.silence_ms
        self.languages: list[str] = []
        self.started = False
        self.first_result_sent = False
        self.audio_ms = 0.0
        self.tag = uuid.uuid4().hex

    async def run(self) -> None:
        async for raw in self.ws:
            message = usp.parse(raw)
            self.record.messages.append((message.path, message.request_id))
            if message.path == "speech.context":
                self._read_context(message.json())
            elif message.path == "audio" and message.binary:
                await self._audio(message)

    def _read_context(self, body: dict[str, Any]) -> None:
        self.record.contexts.append(body)
        detection = body.get("phraseDetection", {})
        for mode in ("CONVERSATION", "INTERACTIVE", "DICTATION"):
            seg = detection.get(mode, {}).get("segmentation", {})
            if "segmentationSilenceTimeoutMs" in seg:
                self.silence_ms = float(seg["segmentationSilenceTimeoutMs"])
        self.languages = list(body.get("languageId", {}).get("languages", []))

    async def _audio(self, message: usp.UspMessage) -> None:
        payload = message.payload
        if payload[:4] == b"RIFF":
            self.request_id = message.request_id
            self.record.audio[self.request_id] = bytearray()
            self.segmenter = _Segmenter(
                usp.riff_sample_rate(payload), self.silence_ms, self.standin.energy_threshold
            )
            self.started = False
            await self._send("turn.start", {"context": {"serviceTag": self.tag}})
            return
        segmenter = self.segmenter
        if segmenter is None:
            return
        if not payload:
            for segment in segmenter.close():
                await self._phrase(segmenter, *segment)
            end_ticks = segmenter.ticks(len(segmenter.audio))
            await self._send("speech.endDetected", {"Offset": end_ticks})
            await self._send("turn.end", {})
            self.segmenter = None
            return
        self.record.audio[self.request_id] += payload
        self.audio_ms += len(payload) * 1000 / (2 * segmenter.rate_hz)
        faults = self.standin.faults
        if (
            faults.drop_after_audio_ms is not None
            and self.audio_ms >= faults.drop_after_audio_ms
            and self.standin._take_drop()
        ):
            self.record.dropped = True
            _abort(self.ws)
            return
        for segment in segmenter.feed(payload):
            await self._phrase(segmenter, *segment)
        await self._maybe_partial(segmenter)

    async def _maybe_partial(self, segmenter: _Segmenter) -> None:
        if segmenter.start is None or len(segmenter.audio) < segmenter.next_partial_at:
            return
        segmenter.next_partial_at = len(segmenter.audio) + segmenter.bytes_for(300)
        pcm = bytes(segmenter.audio[segmenter.start : segmenter.last_voiced_end])
        await self._started(segmenter, segmenter.start)
        text = await asyncio.to_thread(self.standin.transcriber.partial, pcm, segmenter.rate_hz)
        if text:
            await self._result(
                "speech.hypothesis",
                {
                    "Text": text,
                    "Offset": segmenter.ticks(segmenter.start),
                    "Duration": segmenter.ticks(len(pcm)),
                    **self._language(),
                },
            )

    async def _phrase(self, segmenter: _Segmenter, start: int, end: int) -> None:
        await self._started(segmenter, start)
        pcm = bytes(segmenter.audio[start:end])
        text = await asyncio.to_thread(self.standin.transcriber.final, pcm, segmenter.rate_hz)
        body: dict[str, Any] = {
            "RecognitionStatus": "Success" if text else "NoMatch",
            "Offset": segmenter.ticks(start),
            "Duration": segmenter.ticks(end - start),
            **self._language(),
        }
        if text:
            body["DisplayText"] = _display(text)
        await self._result("speech.phrase", body)

    def _language(self) -> dict[str, Any]:
        if not self.languages:
            return {}
        return {"PrimaryLanguage": {"Language": self.languages[0], "Confidence": "High"}}

    async def _started(self, segmenter: _Segmenter, start: int) -> None:
        if not self.started:
            self.started = True
            await self._send("speech.startDetected", {"Offset": segmenter.ticks(start)})

    async def _result(self, path: str, body: dict[str, Any]) -> None:
        if not self.first_result_sent:
            self.first_result_sent = True
            delay = self.standin.faults.first_result_delay_ms
            if delay > 0:
                await asyncio.sleep(delay / 1000)
        await self._send(path, body)

    async def _send(self, path: str, body: dict[str, Any]) -> None:
        await self.ws.send(usp.text_message(path, self.request_id, body))


def _display(text: str) -> str:
    # The service's display form: capitalised, with a full stop.
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


class _Synthesis:
    """Service side of one synthesis connection."""

    def __init__(self, standin: SpeechStandIn, ws: ServerConnection, record: ConnectionRecord):
        self.standin = standin
        self.ws = ws
        self.record = record
        self.rate_hz = 16000
        self.mulaw = False
        self.voice_name: str | None = None
        self.sent_chunks = 0
        self.first_audio_sent = False
        # Per turn (text-stream mode): text received, text already spoken, audio offset.
        self.pending = ""
        self.spoken_chars = 0
        self.audio_ms = 0.0
        self.turn_open = False

    async def run(self) -> None:
        async for raw in self.ws:
            message = usp.parse(raw)
            self.record.messages.append((message.path, message.request_id))
            if message.path == "synthesis.context":
                self._read_context(message.json())
            elif message.path == "ssml":
                self.record.ssml.append(message.body)
                request = parse_ssml(message.body)
                await self._begin(message.request_id)
                voice = Voice(name=request.voice, rate=_rate_factor(request.rate))
                await self._speak(message.request_id, request.text, 0, voice)
                await self._end(message.request_id)
            elif message.path == "text.piece":
                self.record.text_pieces.append(message.body)
                await self._begin(message.request_id)
                self.pending += message.body
                await self._speak_ready(message.request_id, final=False)
            elif message.path == "text.end":
                await self._begin(message.request_id)
                await self._speak_ready(message.request_id, final=True)
                await self._end(message.request_id)

    def _read_context(self, body: dict[str, Any]) -> None:
        self.record.contexts.append(body)
        fmt = body.get("synthesis", {}).get("audio", {}).get("outputFormat", "")
        match = _RAW_FORMAT.match(fmt)
        self.rate_hz = int(match.group(1)) * 1000 if match else 16000
        self.mulaw = bool(match and match.group(2).endswith("mulaw"))
        self.voice_name = body.get("synthesis", {}).get("input", {}).get("voiceName")

    async def _begin(self, request_id: str) -> None:
        if self.turn_open:
            return
        self.turn_open = True
        self.pending, self.spoken_chars, self.audio_ms = "", 0, 0.0
        tag = uuid.uuid4().hex
        await self._send("turn.start", request_id, {"context": {"serviceTag": tag}})
        await self._send(
            "response",
            request_id,
            {"context": {"serviceTag": tag}, "audio": {"type": "inline", "streamId": tag}},
        )

    async def _end(self, request_id: str) -> None:
        self.turn_open = False
        await self._send("turn.end", request_id, {})

    async def _speak_ready(self, request_id: str, *, final: bool) -> None:
        # Text streaming: speak up to the last word break received; keep the rest for later.
        text = self.pending[self.spoken_chars :]
        cut = len(text) if final else max(text.rfind(" "), text.rfind("\n")) + 1
        if cut <= 0:
            return
        piece = text[:cut]
        base = self.spoken_chars
        self.spoken_chars += cut
        await self._speak(request_id, piece, base, Voice(name=self.voice_name))

    async def _speak(self, request_id: str, text: str, char_base: int, voice: Voice) -> None:
        if not text.strip():
            return
        synthesized: Synthesized = await self.standin.synthesizer.synthesize(
            text, self.rate_hz, voice
        )
        width = 1 if self.mulaw else 2
        bytes_per_ms = self.rate_hz * width / 1000
        chunk = int(self.standin.chunk_ms * bytes_per_ms) // width * width
        words = list(synthesized.words)
        pcm = mulaw_encode(synthesized.pcm) if self.mulaw else synthesized.pcm
        for at in range(0, len(pcm), chunk):
            piece = pcm[at : at + chunk]
            end_ms = (at + len(piece)) / bytes_per_ms
            while words and words[0].start_ms < end_ms:
                word = words.pop(0)
                await self._word(
                    request_id,
                    word.text,
                    char_base + word.char_offset,
                    self.audio_ms + word.start_ms,
                    word.duration_ms,
                )
            await self._audio(request_id, piece)
        for word in words:
            await self._word(
                request_id,
                word.text,
                char_base + word.char_offset,
                self.audio_ms + word.start_ms,
                word.duration_ms,
            )
        self.audio_ms += len(pcm) / bytes_per_ms

    async def _word(
        self, request_id: str, text: str, char_offset: int, start_ms: float, duration_ms: float
    ) -> None:
        del char_offset  # the service sends the word's text; the SDK finds its offset
        await self._send(
            "audio.metadata",
            request_id,
            {
                "Metadata": [
                    {
                        "Type": "WordBoundary",
                        "Data": {
                            "Offset": int(start_ms * TICKS_PER_MS),
                            "Duration": int(duration_ms * TICKS_PER_MS),
                            "text": {
                                "Text": text,
                                "Length": len(text),
                                "BoundaryType": "WordBoundary",
                            },
                        },
                    }
                ]
            },
        )

    async def _audio(self, request_id: str, payload: bytes) -> None:
        faults = self.standin.faults
        if not self.first_audio_sent:
            self.first_audio_sent = True
            if faults.first_result_delay_ms > 0:
                await asyncio.sleep(faults.first_result_delay_ms / 1000)
        elif faults.chunk_interval_ms > 0:
            await asyncio.sleep(faults.chunk_interval_ms / 1000)
        if (
            faults.drop_after_chunks is not None
            and self.sent_chunks >= faults.drop_after_chunks
            and self.standin._take_drop()
        ):
            self.record.dropped = True
            _abort(self.ws)
            raise ConnectionClosed(None, None)
        self.sent_chunks += 1
        await self.ws.send(usp.binary_message("audio", request_id, payload))
        self.record.audio_frames_sent += 1

    async def _send(self, path: str, request_id: str, body: dict[str, Any]) -> None:
        await self.ws.send(usp.text_message(path, request_id, body))


@contextlib.contextmanager
def running_speech_standin(standin: SpeechStandIn | None = None) -> Iterator[SpeechStandIn]:
    """Run a stand-in on 127.0.0.1 (free port) in a thread with its own event loop.

    Yields:
        The started stand-in; it stops (and its thread ends) when the block exits.
    """
    server = standin or SpeechStandIn()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    thread = threading.Thread(
        target=_serve_forever, args=(loop, ready), daemon=True, name="speech-standin"
    )
    thread.start()
    ready.wait(5)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield server
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_shutdown(server), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        # The loop's own thread closes it once run_forever returns (see _serve_forever), so a
        # slow stop on a loaded machine never leaves an unclosed loop behind.
        thread.join(30)


async def _shutdown(server: SpeechStandIn) -> None:
    # Stop listening, then finish every task of the stand-in's loop (handlers, pending
    # accepts) so nothing is left half-run when the loop closes.
    await server.stop()
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    # Aborted transports end their handlers by themselves (closing each socket on the way);
    # only what is still running after that is cancelled.
    if tasks:
        await asyncio.wait(tasks, timeout=0.5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_asyncgens()


def _serve_forever(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        loop.close()


def main() -> None:
    """Serve until interrupted: ``python -m tests.emulators.speech_standin [--port N]``."""
    parser = argparse.ArgumentParser(description="Azure AI Speech protocol stand-in")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tones", action="store_true", help="tone synthesis, not espeak-ng")
    parser.add_argument("--script", nargs="*", help="scripted transcripts instead of pocketsphinx")
    parser.add_argument("--repeat", type=int, default=1, help="repeat the script N times")
    parser.add_argument("--silence-ms", type=float, default=500.0, help="segmentation silence")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    standin = SpeechStandIn(
        transcriber=ScriptedTranscriber(args.script * args.repeat) if args.script else None,
        synthesizer=ToneSynthesizer() if args.tones else None,
        silence_ms=args.silence_ms,
    )

    async def serve_forever() -> None:
        await standin.start(args.port)
        logger.info("key %s, host %s", standin.key, standin.host)
        print(f"LISTENING {standin.host}", flush=True)  # noqa: T201 - for a parent process
        while True:
            await asyncio.sleep(3600)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever())


if __name__ == "__main__":
    main()

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_TOKEN",
    "ConnectionRecord",
    "Faults",
    "SpeechStandIn",
    "SsmlRequest",
    "parse_ssml",
    "running_speech_standin",
]
