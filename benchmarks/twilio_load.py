"""A lean load client for Twilio Media Streams: hundreds of callers from one core.

The Twilio emulator's media client (``websockets``, mu-law conversion and a real-time playout
per call) costs more CPU per frame than the server under test, so at a few hundred calls it
would set the figures. This one reuses :mod:`benchmarks.acs_load`'s hand-written RFC 6455 client
(one ``asyncio.Protocol`` per call, one timer for every caller, client frames masked with the
all-zero key so one encoded frame serves every call):

* each call is offered as Twilio does, through a signed Voice webhook posted by the Twilio
  emulator; the ``<Stream url>`` and ``call_token`` of the TwiML answer open the socket, which
  sends ``connected`` and ``start``;
* caller ``media`` messages carry one fixed ``streamSid`` for every call (the server reads the
  call from ``start``; the per-message ``streamSid`` only labels it), so one frame per tick
  serves every socket;
* agent messages are told apart by their ``event`` without decoding JSON or base64; a ``mark``
  is echoed at once (a far end whose playout keeps up), or, with ``echo_at_playout``, when the
  call's real-time playout of the audio before it ends (one timer per mark, as Twilio echoes);
  ``clear`` echoes the pending marks at once; ``clear`` arrivals are timed.

Facts: "Media Streams - WebSocket Messages"
(https://www.twilio.com/docs/voice/media-streams/websocket-messages); RFC 6455 framing.
"""

from __future__ import annotations

import asyncio
import json
import time
import xml.etree.ElementTree as ET  # noqa: S405 (TwiML from the server under test)

from adapters.twilio.media_codec import (
    encode_connected,
    encode_inbound_media,
    encode_mark_echo,
    encode_start,
)
from adapters.twilio_emulator import TwilioEmulator
from benchmarks.acs_load import LeanMediaSocket, ws_text_frame

FRAME_S = 0.020
STREAM_SID = "MZ" + "0" * 32


class LeanTwilioSocket(LeanMediaSocket):
    """One call's Media Stream, from Twilio's side, for load.

    Args:
        url: The ``<Stream url>``.
        echo_at_playout: Echo each mark when playout reaches it instead of at once.
    """

    def __init__(self, url: str, *, echo_at_playout: bool = False) -> None:
        super().__init__(url, {})
        self.marks = 0
        self.loud_at: float | None = None
        self.echo_at_playout = echo_at_playout
        self.play_end = 0.0
        self.stutters = 0
        """Breaks of 2-100 ms in the agent's playout (the next frame came late)."""
        self.stutter_s = 0.0
        self._pending: dict[str, asyncio.TimerHandle] = {}

    def _echo(self, name: str) -> None:
        self._pending.pop(name, None)
        self.marks += 1
        transport = self.transport  # not counted in stats.sent: that counts caller media
        if transport is not None and not transport.is_closing():
            transport.write(
                ws_text_frame(encode_mark_echo(STREAM_SID, name, sequence_number=0).encode())
            )

    def _played(self, now: float) -> None:
        """One 20 ms frame arrived: it plays after what is queued (or now, after an underrun)."""
        if self.play_end < now:
            gap = now - self.play_end
            if self.play_end and 0.002 < gap < 0.1:  # longer: a pause between utterances
                self.stutters += 1
                self.stutter_s += gap
            self.play_end = now
        self.play_end += FRAME_S

    async def close(self) -> None:  # noqa: D102
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        await super().close()

    def data_received(self, data: bytes) -> None:  # noqa: D102
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            self._upgraded = True
            assert self._handshake is not None
            if b" 101 " not in status:
                self._handshake.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self._handshake.set_result(None)
        now = time.monotonic()
        stats = self.stats
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if n - pos < 4:
                    break
                length, head = (buf[pos + 2] << 8) | buf[pos + 3], 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if n - pos < head + length:
                break
            opcode, start = b0 & 0x0F, pos + head
            if opcode == 0x1:
                event = bytes(buf[start + 10 : start + 15])  # '{"event":"media"...'
                if event == b"media":
                    stats.frame_times.append(now)
                    if self.echo_at_playout:
                        self._played(now)
                elif event == b"clear":
                    stats.stop_times.append(now)
                    self.play_end = 0.0
                    for name, handle in list(self._pending.items()):
                        handle.cancel()
                        self._echo(name)
                elif event == b'mark"':
                    name = json.loads(bytes(buf[start : start + length]))["mark"]["name"]
                    if self.echo_at_playout and self.play_end > now:
                        loop = asyncio.get_running_loop()
                        delay = self.play_end - now
                        self._pending[name] = loop.call_later(delay, self._echo, name)
                    else:
                        self._echo(name)
                else:
                    stats.other += 1
            elif opcode == 0x8:
                self.close_code = (buf[start] << 8) | buf[start + 1] if length >= 2 else 1005
                if self.transport is not None:
                    self.transport.close()
            pos = start + length
        if pos:
            del buf[:pos]


async def open_call(
    emulator: TwilioEmulator, voice_url: str, *, echo_at_playout: bool = False
) -> LeanTwilioSocket:
    """Offer one call through the signed Voice webhook and open its stream from the TwiML."""
    call = emulator.new_incoming_call()
    status, twiml = await emulator.post(call, voice_url, {}, "voice")
    if status != 200:
        raise ConnectionError(f"Voice webhook answered HTTP {status}")
    stream = ET.fromstring(twiml).find("Connect/Stream")  # noqa: S314
    assert stream is not None
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    sock = LeanTwilioSocket(stream.get("url", ""), echo_at_playout=echo_at_playout)
    await sock.connect()
    sock.send(ws_text_frame(encode_connected().encode()))
    start = encode_start(
        stream_sid=STREAM_SID, call_sid=call.call_sid, account_sid=emulator.account_sid,
        custom_parameters=parameters,
    )  # fmt: skip
    sock.send(ws_text_frame(start.encode()))
    return sock


class TwilioCallerClock:
    """One timer for every caller: each 20 ms tick writes one mu-law frame to every socket.

    Args:
        sockets: The callers.
        silence: One 20 ms mu-law frame of silence.
        loud: One 20 ms mu-law frame of loud audio.
        barge_at: Per socket, monotonic time its caller starts talking (or None).
        barge_for_s: How long each caller talks.
    """

    def __init__(
        self,
        sockets: list[LeanTwilioSocket],
        silence: bytes,
        loud: bytes,
        *,
        barge_at: list[float | None],
        barge_for_s: float,
    ) -> None:
        self.sockets = sockets
        self.silence = silence
        self.loud = loud
        self.barge_at = barge_at
        self.barge_for_s = barge_for_s
        self.lag_ms: list[float] = []

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every 20 ms on an absolute schedule until ``stop`` is set."""
        start = time.monotonic()
        i = 0
        while not stop.is_set():
            now = time.monotonic()
            self.lag_ms.append(max(0.0, now - (start + i * FRAME_S)) * 1000)
            i += 1
            frames = [
                ws_text_frame(
                    encode_inbound_media(
                        STREAM_SID, audio, sequence_number=i, chunk=i, timestamp_ms=i * 20
                    ).encode()
                )
                for audio in (self.silence, self.loud)
            ]
            for k, sock in enumerate(self.sockets):
                at = self.barge_at[k]
                if at is not None and at <= now < at + self.barge_for_s:
                    if sock.loud_at is None:
                        sock.loud_at = now
                    sock.send(frames[1])
                else:
                    sock.send(frames[0])
            delay = start + i * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                start = time.monotonic() - i * FRAME_S  # far behind: no catch-up burst


__all__ = ["LeanTwilioSocket", "TwilioCallerClock", "open_call"]
