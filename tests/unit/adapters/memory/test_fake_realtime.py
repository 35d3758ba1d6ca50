"""The fake realtime model's rules that the test harness relies on (beyond the port's suite)."""

from __future__ import annotations

import asyncio

from adapters.memory.realtime import FakeRealtimeModel, FakeReply
from ports import PCM16_24K, AudioFrame, ChatMessage, ProviderUnavailableError, Role
from ports.realtime import (
    InputTranscript,
    RealtimeConfig,
    RealtimeEvent,
    ResponseAudio,
    ResponseFinished,
    ResponseRequest,
)


async def events_until_finished(events: object) -> list[RealtimeEvent]:
    seen: list[RealtimeEvent] = []
    async with asyncio.timeout(5):
        async for event in events:  # type: ignore[attr-defined]
            seen.append(event)
            if isinstance(event, ResponseFinished):
                return seen
    return seen


async def test_a_truncated_reply_is_remembered_as_the_words_played() -> None:
    # 40 ms per character: "Your balance is forty two dollars." is 34 characters, 1360 ms.
    model = FakeRealtimeModel(replies=[FakeReply("Your balance is forty two dollars.")])
    async with model.session(RealtimeConfig(), PCM16_24K) as session:
        stream = session.events()
        await session.create_response(ResponseRequest())
        seen = await events_until_finished(stream)
        item = next(e.item_id for e in seen if isinstance(e, ResponseAudio))
        assert session.responding is None
        await session.truncate(item, 640)  # 16 characters played: "Your balance is "
        [reply] = session.history
        assert (reply.role, reply.text, reply.interrupted) == (
            Role.ASSISTANT,
            "Your balance is",
            True,
        )


async def test_a_responder_that_fails_ends_the_response_failed_with_its_code() -> None:
    async def broken(history: list[ChatMessage], config: RealtimeConfig) -> FakeReply:
        raise ProviderUnavailableError("model down", port="language_model")

    model = FakeRealtimeModel(responder=broken)
    async with model.session(RealtimeConfig(), PCM16_24K) as session:
        stream = session.events()
        await session.create_response(ResponseRequest())
        seen = await events_until_finished(stream)
    done = seen[-1]
    assert isinstance(done, ResponseFinished)
    assert (done.status, done.error_code) == ("failed", "unavailable")
    assert session.history == []


async def test_added_transcripts_are_heard_in_order_and_a_wordless_one_is_empty() -> None:
    model = FakeRealtimeModel()
    model.add_transcript("what is my balance")
    model.add_transcript("")
    loud = AudioFrame(b"\x10\x27" * 480, PCM16_24K)  # 20 ms at amplitude 10000
    quiet = AudioFrame(b"\x00\x00" * 480, PCM16_24K)
    async with model.session(RealtimeConfig(), PCM16_24K) as session:
        for _ in range(2):
            for frame in [loud] * 5 + [quiet] * 10:
                session.push_audio(frame)
        finals: list[str] = []
        async with asyncio.timeout(5):
            async for event in session.events():
                if isinstance(event, InputTranscript) and event.is_final:
                    finals.append(event.text)
                    if len(finals) == 2:
                        break
    assert finals == ["what is my balance", ""]
