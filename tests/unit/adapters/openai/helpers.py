"""Small helpers shared by the OpenAI adapter tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from ports import ChatMessage, ResponseEvent, Role, TextDelta

HISTORY = (
    ChatMessage(Role.SYSTEM, "You are the bank's assistant."),
    ChatMessage(Role.USER, "hello", agent="bank"),
)


async def collect(stream: AsyncGenerator[ResponseEvent, None]) -> list[ResponseEvent]:
    events: list[ResponseEvent] = []
    try:
        async for event in stream:
            events.append(event)
    finally:
        await stream.aclose()
    return events


def text_of(events: list[ResponseEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))
