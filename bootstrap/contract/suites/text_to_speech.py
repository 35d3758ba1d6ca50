"""Contract of ports.TextToSpeech: exact format, streaming, word boundaries, closing, errors.

The suite is :class:`TextToSpeechContract`; subclass it in a test module and define the
``tts_case`` fixture returning a :class:`~bootstrap.contract.cases.TextToSpeechCase`.
"""

from __future__ import annotations

import asyncio

import pytest

from bootstrap.contract.cases import TextToSpeechCase
from bootstrap.contract.helpers import all_increasing, no_task_leak
from bootstrap.contract.suite import ContractSuite
from ports import AudioFormat, InvalidAudioError, ProviderError, SpeechChunk

SHORT = "Hello, how can I help you today?"


async def synthesise(case: TextToSpeechCase, text: str, fmt: AudioFormat) -> list[SpeechChunk]:
    async with asyncio.timeout(30):
        return [c async for c in case.tts.synthesize(text, voice=case.voice, fmt=fmt)]


class TextToSpeechContract(ContractSuite):
    """The promises of :class:`ports.TextToSpeech`; needs a ``tts_case`` fixture."""

    port = "tts"
    protocol = "ports.TextToSpeech"
    case_fixture = "tts_case"

    async def test_audio_comes_back_in_exactly_the_requested_format(
        self,
        tts_case: TextToSpeechCase,
    ) -> None:
        for fmt in tts_case.formats:
            chunks = await synthesise(tts_case, SHORT, fmt)
            assert chunks, fmt
            assert all(c.audio.format == fmt for c in chunks)
            total_ms = sum(c.audio.duration_ms for c in chunks)
            # A short sentence is about a second or two of speech: ms, not seconds or samples.
            assert 300 <= total_ms <= 10_000, (fmt, total_ms)
            width = fmt.bytes_per_sample * fmt.channels
            assert all(len(c.audio.data) % width == 0 and c.audio.data for c in chunks)

    async def test_chunk_timestamps_are_ms_from_synthesis_start(
        self, tts_case: TextToSpeechCase
    ) -> None:
        chunks = await synthesise(tts_case, SHORT, tts_case.formats[0])
        elapsed = 0.0
        for chunk in chunks:
            assert abs(chunk.audio.timestamp_ms - elapsed) <= 1.0, (
                chunk.audio.timestamp_ms,
                elapsed,
            )
            elapsed += chunk.audio.duration_ms

    async def test_word_boundaries_are_monotonic_and_point_into_the_text(
        self,
        tts_case: TextToSpeechCase,
    ) -> None:
        text = tts_case.long_text
        chunks = await synthesise(tts_case, text, tts_case.formats[0])
        words = [w for c in chunks for w in c.words]
        if not tts_case.has_word_boundaries:
            assert not words
            return
        assert len(words) >= len(text.split()) // 2
        assert all_increasing(w.audio_offset_ms for w in words)
        assert all(a.text_offset < b.text_offset for a, b in zip(words, words[1:], strict=False))
        total_ms = sum(c.audio.duration_ms for c in chunks)
        for word in words:
            spoken = text[word.text_offset : word.text_offset + word.text_length]
            assert spoken.strip() and word.text_length > 0, word
            assert 0.0 <= word.audio_offset_ms <= total_ms and word.duration_ms >= 0.0
        for chunk in chunks:
            start = chunk.audio.timestamp_ms
            for word in chunk.words:
                # A boundary rides on the chunk during which its word starts.
                assert start - 1.0 <= word.audio_offset_ms < start + chunk.audio.duration_ms + 1.0

    async def test_blank_text_yields_no_chunk(self, tts_case: TextToSpeechCase) -> None:
        for text in ("", "   ", "\n\t"):
            assert await synthesise(tts_case, text, tts_case.formats[0]) == []

    async def test_the_first_chunk_comes_before_a_long_text_is_synthesised(
        self,
        tts_case: TextToSpeechCase,
    ) -> None:
        # Streaming is checked by shape, not by the clock (no timing assertions: a loaded
        # machine makes any wall-clock bound flaky): a long text arrives as several chunks,
        # the first of which holds only a small part of the audio.
        chunks_ms: list[float] = []
        async with asyncio.timeout(30):
            async for chunk in tts_case.tts.synthesize(
                tts_case.long_text, voice=tts_case.voice, fmt=tts_case.formats[0]
            ):
                chunks_ms.append(chunk.audio.duration_ms)
        assert len(chunks_ms) > 1, "a long text streams in several chunks"
        assert chunks_ms[0] < sum(chunks_ms) / 2, (
            f"the first chunk holds most of the audio: {chunks_ms}"
        )

    async def test_closing_the_stream_mid_way_stops_synthesis(
        self, tts_case: TextToSpeechCase
    ) -> None:
        async with no_task_leak():
            stream = tts_case.tts.synthesize(
                tts_case.long_text, voice=tts_case.voice, fmt=tts_case.formats[0]
            )
            async with asyncio.timeout(30):
                first = await anext(stream)
            assert first.audio.data
            async with asyncio.timeout(1):
                await stream.aclose()
        # The adapter stays usable after a cancelled synthesis.
        assert await synthesise(tts_case, SHORT, tts_case.formats[0])

    async def test_cancelling_the_consuming_task_stops_synthesis(
        self, tts_case: TextToSpeechCase
    ) -> None:
        got_one = asyncio.Event()

        async def consume() -> None:
            async for _ in tts_case.tts.synthesize(
                tts_case.long_text, voice=tts_case.voice, fmt=tts_case.formats[0]
            ):
                got_one.set()
                await asyncio.sleep(0.005)

        async with no_task_leak():
            task = asyncio.create_task(consume())
            async with asyncio.timeout(30):
                await got_one.wait()
            task.cancel()
            async with asyncio.timeout(1):
                with pytest.raises(asyncio.CancelledError):
                    await task

    async def test_an_unsupported_format_is_refused(self, tts_case: TextToSpeechCase) -> None:
        if tts_case.unsupported_format is None:
            pytest.skip("this engine converts to every format")
        with pytest.raises(InvalidAudioError):
            await synthesise(tts_case, SHORT, tts_case.unsupported_format)

    async def test_engine_failures_raise_port_errors(self, tts_case: TextToSpeechCase) -> None:
        assert tts_case.failures, "an implementation must show how it fails"
        for failing in tts_case.failures:
            assert issubclass(failing.expected, ProviderError), failing.label
            async with no_task_leak():
                with pytest.raises(failing.expected):
                    async with asyncio.timeout(30):
                        async for _ in failing.adapter.synthesize(
                            tts_case.long_text, voice=tts_case.voice, fmt=tts_case.formats[0]
                        ):
                            pass
