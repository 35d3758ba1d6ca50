"""The SDK-thread to event-loop bridge: values cross with call_soon_threadsafe, errors are kept."""

from __future__ import annotations

import asyncio
import threading

from adapters.azure_speech.bridge import ThreadBridge


async def test_values_from_a_foreign_thread_are_delivered_on_the_loop_thread_in_order():
    loop = asyncio.get_running_loop()
    bridge = ThreadBridge(loop, "test")
    seen: list[tuple[int, int]] = []
    done = asyncio.Event()

    def deliver(value: int) -> None:
        seen.append((value, threading.get_ident()))
        if value == 99:
            done.set()

    callback = bridge.sdk_handler(lambda event: event["n"], deliver)
    thread = threading.Thread(target=lambda: [callback({"n": i}) for i in range(100)])
    thread.start()
    await asyncio.wait_for(done.wait(), 5)
    thread.join()
    assert [v for v, _ in seen] == list(range(100))
    assert {ident for _, ident in seen} == {threading.get_ident()}


async def test_an_exception_in_a_handler_is_logged_and_counted_not_lost(caplog):
    loop = asyncio.get_running_loop()
    bridge = ThreadBridge(loop, "test")

    def broken_extract(event: object) -> int:
        raise KeyError("missing field")

    def broken_deliver(value: int) -> None:
        raise ValueError("bad value")

    bad_extract = bridge.sdk_handler(broken_extract, lambda v: None)
    bad_deliver = bridge.sdk_handler(lambda e: 1, broken_deliver)
    thread = threading.Thread(target=lambda: (bad_extract(object()), bad_deliver(object())))
    thread.start()
    thread.join()
    for _ in range(50):
        if bridge.handler_errors == 2:
            break
        await asyncio.sleep(0.01)
    assert bridge.handler_errors == 2
    assert "SDK-thread handler failed" in caplog.text
    assert "loop-side handler failed" in caplog.text


async def test_none_from_the_extractor_drops_the_event():
    bridge = ThreadBridge(asyncio.get_running_loop(), "test")
    delivered: list[int] = []
    bridge.sdk_handler(lambda e: None, delivered.append)(object())
    await asyncio.sleep(0.01)
    assert delivered == []


def test_posting_to_a_closed_loop_is_dropped_quietly():
    loop = asyncio.new_event_loop()
    loop.close()
    ThreadBridge(loop, "test").post(lambda: None)
