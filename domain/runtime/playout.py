"""Outbound speech: text-to-speech synthesis feeding a paced frame sender.

Speeches play back to back in the order they were queued. One synthesis task at a time turns
the next queued speech into fixed-duration frames (running ahead of playback by at most
``synth_ahead_ms``); frames leave on an absolute schedule: frame ``n`` of a continuous run
leaves at ``start + sum(durations before n) - lead``, so errors never accumulate over a long
call, and the far end never holds more than ``lead`` ms. The queue, the schedule and the
sending are every audio output's (:class:`~domain.runtime.paced_output.PacedOutput`,
:mod:`domain.runtime.sender`): the process's :class:`~domain.runtime.pacer.Pacer` sends the
frames of a stream that can send without waiting (``try_send_audio``); any other stream gets
one sender task of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from domain.commands import Speak
from domain.runtime.config import RuntimeConfig
from domain.runtime.paced_output import PacedOutput, PlayoutListener
from domain.runtime.pacer import Pacer
from domain.runtime.tasks import Guard, TaskOwner, Watchdog
from ports import (
    AudioEncoding,
    AudioFormat,
    AudioFrame,
    CallMetrics,
    Clock,
    InvalidAudioError,
    MediaStream,
    ParleyError,
    ProviderError,
    TextToSpeech,
    WordBoundary,
)

logger = logging.getLogger(__name__)


class _Speech:
    """One queued speech: its frames as they are synthesised, and how much was sent.

    ``done``: synthesis has ended (no frame will be added).
    """

    __slots__ = (
        "cmd",
        "done",
        "frames",
        "heard_end",
        "last_progress_ms",
        "sent_ms",
        "synth_ms",
        "word_index",
        "words",
    )

    def __init__(self, cmd: Speak) -> None:
        self.cmd = cmd
        self.frames: deque[AudioFrame] = deque()
        self.done = False
        self.synth_ms = 0.0
        self.words: list[WordBoundary] = []
        self.word_index = 0
        self.heard_end = 0
        self.sent_ms = 0.0
        self.last_progress_ms = 0.0


class Playout(PacedOutput[_Speech]):
    """Synthesis and paced sending of one call's speech.

    Args:
        tts: Text-to-speech port.
        media: The call's media stream (``send_audio``).
        clock: Time source for pacing.
        metrics: Gets ``frame_out`` per frame sent.
        config: Pacing, frame duration, timeouts.
        fmt: Outbound format (the stream's inbound format).
        tasks: The call's task owner.
        watchdog: Enforces the deadlines of sends and synthesis chunks.
        listener: Receives progress, completion, first-audio/first-frame marks and failures.
        pacer: The process's pacer; with it, a stream offering ``try_send_audio`` is paced by
            it instead of by a sender task of this call.
    """

    def __init__(
        self,
        *,
        tts: TextToSpeech,
        media: MediaStream,
        clock: Clock,
        metrics: CallMetrics,
        config: RuntimeConfig,
        fmt: AudioFormat,
        tasks: TaskOwner,
        watchdog: Watchdog,
        listener: PlayoutListener,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__(
            media=media,
            clock=clock,
            metrics=metrics,
            config=config,
            tasks=tasks,
            watchdog=watchdog,
            listener=listener,
            pacer=pacer,
        )
        self._tts = tts
        self._fmt = fmt
        self._frame_bytes = fmt.frame_bytes(config.frame_ms)
        self._frame_ms = fmt.duration_ms(self._frame_bytes)
        self._silence = b"\xff" if fmt.encoding is AudioEncoding.MULAW else b"\x00"
        self._to_synth: deque[_Speech] = deque()
        self._synth_task: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._buffered_ms = 0.0

    def current_speech_id(self) -> str | None:
        """The speech now playing (head of the queue), if any."""
        return self._queue[0].cmd.speech_id if self._queue else None

    def enqueue(self, cmd: Speak) -> None:
        """Queue ``cmd`` to play after everything queued before it."""
        speech = _Speech(cmd)
        self._queue.append(speech)
        self._to_synth.append(speech)
        self._idle.clear()
        if self._synth_task is None:
            self._synth_task = self._tasks.spawn(self._synth_loop(), "synth")
        self._kick()

    def stop(self) -> bool:
        """Cancel synthesis and drop every queued frame, synchronously.

        The caller sends stop-audio to the far end in the same loop iteration; the schedule
        restarts from now because the far end's buffer is cleared by it.

        Returns:
            True when speech was queued or still playing at the far end.
        """
        had_audio = self.playing
        self._queue.clear()
        self._to_synth.clear()
        self._buffered_ms = 0.0
        if self._synth_task is not None:
            # From inside the synthesis task (a failure it reported led here) it ends by
            # itself: its generation is stale.
            if self._synth_task is not asyncio.current_task():
                self._synth_task.cancel()
            self._synth_task = None
        self._restart()
        self._room.set()
        return had_audio

    # what the senders call ---------------------------------------------------------------

    def _take(self, run: _Speech) -> AudioFrame:
        frame = run.frames.popleft()
        self._buffered_ms -= frame.duration_ms
        if self._buffered_ms <= 0.5 * self._config.synth_ahead_ms:
            self._room.set()
        return frame

    def _sent(self, run: _Speech, duration_ms: float) -> None:
        """Words sent, first frame and progress of ``run`` (one more frame of it sent)."""
        first = run.sent_ms == 0.0
        run.sent_ms += duration_ms
        listener = self._listener
        if first:
            listener.first_frame_sent(run.cmd.speech_id)
        words = run.words
        changed = False
        while run.word_index < len(words):
            word = words[run.word_index]
            if word.audio_offset_ms >= run.sent_ms:
                break
            run.heard_end = word.text_offset + word.text_length
            run.word_index += 1
            changed = True
        # With word boundaries, progress goes out when a new word has been sent (the played
        # text is what matters); without them, every ``progress_interval_ms`` of audio.
        if changed or (
            not words and run.sent_ms - run.last_progress_ms >= self._config.progress_interval_ms
        ):
            run.last_progress_ms = run.sent_ms
            listener.playback_progress(
                run.cmd.speech_id,
                run.sent_ms,
                run.cmd.text[: run.heard_end] if words else None,
                run.synth_ms if run.done else None,
            )

    def _completed(self, run: _Speech) -> None:
        self._queue.popleft()
        self._listener.playback_completed(run.cmd.speech_id, run.sent_ms)

    async def _synth_loop(self) -> None:
        generation = self._generation
        guard = self._watchdog.guard()
        try:
            while self._to_synth and generation == self._generation:
                speech = self._to_synth.popleft()
                await self._synthesize(speech, guard)
        finally:
            if self._synth_task is asyncio.current_task():
                self._synth_task = None

    async def _synthesize(self, speech: _Speech, guard: Guard) -> None:
        cmd = speech.cmd
        fmt = self._fmt
        frame_bytes = self._frame_bytes
        frame_ms = self._frame_ms
        ahead_ms = self._config.synth_ahead_ms
        limit_ms = self._config.tts_chunk_timeout_ms
        buf = bytearray()
        first = True
        stream = self._tts.synthesize(cmd.text, voice=cmd.voice, fmt=fmt)
        try:
            while True:
                guard.arm(limit_ms)
                try:
                    chunk = await anext(stream)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if not guard.expired():
                        raise
                    raise TimeoutError from None
                finally:
                    guard.armed = False
                if chunk.audio.format is not fmt and chunk.audio.format != fmt:
                    raise InvalidAudioError(
                        f"text-to-speech gave {chunk.audio.format}, asked for {fmt}"
                    )
                if first:
                    first = False
                    self._listener.first_audio(cmd.speech_id)
                if chunk.words:
                    speech.words.extend(chunk.words)
                audio = chunk.audio
                if not buf and len(audio.data) == frame_bytes:
                    # The engine already speaks in whole frames: send its frame as is.
                    speech.frames.append(
                        audio
                        if audio.timestamp_ms == speech.synth_ms
                        else AudioFrame(audio.data, fmt, speech.synth_ms)
                    )
                    self._buffered_ms += frame_ms
                    speech.synth_ms += frame_ms
                    self._kick()
                else:
                    buf += audio.data
                    whole = len(buf) // frame_bytes
                    if whole:
                        frames = speech.frames
                        for i in range(whole):
                            frames.append(
                                AudioFrame(
                                    bytes(buf[i * frame_bytes : (i + 1) * frame_bytes]),
                                    fmt,
                                    speech.synth_ms,
                                )
                            )
                            speech.synth_ms += frame_ms
                        del buf[: whole * frame_bytes]
                        self._buffered_ms += whole * frame_ms
                        self._kick()
                while self._buffered_ms > ahead_ms:
                    self._room.clear()
                    await self._room.wait()
            if buf:
                buf += self._silence * (frame_bytes - len(buf))
                speech.frames.append(AudioFrame(bytes(buf), fmt, speech.synth_ms))
                self._buffered_ms += frame_ms
                speech.synth_ms += frame_ms
        except ProviderError as exc:
            logger.warning("text-to-speech failed for %s: %s", cmd.speech_id, exc.code)
            self._listener.playout_failed("text_to_speech", exc.code)
        except TimeoutError:
            logger.warning("text-to-speech timed out for %s", cmd.speech_id)
            self._listener.playout_failed("text_to_speech", "timeout")
        except ParleyError as exc:
            logger.warning("text-to-speech failed for %s: %s", cmd.speech_id, exc.code)
            self._listener.playout_failed("text_to_speech", exc.code)
        except Exception:
            logger.exception("text-to-speech adapter raised a non-port error")
            self._listener.playout_failed("text_to_speech", "provider_error")
        finally:
            speech.done = True
            self._kick()
            try:
                async with asyncio.timeout(self._config.port_timeout_ms / 1000.0):
                    await stream.aclose()
            except Exception:  # noqa: BLE001 (closing must never fail the call)
                logger.debug("closing a text-to-speech stream failed", exc_info=True)
