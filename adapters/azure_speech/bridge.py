"""The hop from SDK callback threads to the asyncio event loop.

Every Speech SDK callback runs on a native SDK thread, and the SDK swallows exceptions raised
in a handler without a trace (docs/wire-protocols.md, "Azure AI Speech SDK"). :class:`ThreadBridge`
wraps a handler so that it (1) runs a small *extract* function on the SDK thread, turning the
SDK event into plain values (never the raw event, which must not cross to the loop), (2) hands
those values to the loop with ``loop.call_soon_threadsafe`` only (``asyncio.Queue.put_nowait``
from a foreign thread is not thread-safe), and (3) catches, logs and counts any exception on
either side. ``benchmarks/bench_azure_speech.py`` measures the hop (target: < 1 ms at p99).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ThreadBridge:
    """Hands values from foreign threads to one event loop.

    Args:
        loop: The loop that owns the session (captured where the session starts).
        name: Used in log messages (e.g. ``"azure stt"``).

    Attributes:
        handler_errors: Exceptions caught in handlers so far (on either side of the hop).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, name: str) -> None:
        self._loop = loop
        self._name = name
        self.handler_errors = 0

    def post(self, handler: Callable[..., None], *args: Any) -> None:
        """Run ``handler(*args)`` on the loop soon; safe from any thread, never raises."""
        try:
            self._loop.call_soon_threadsafe(self._run, handler, args)
        except RuntimeError:
            # The loop is closed: the session is gone, nothing is waiting for the value.
            logger.debug("%s: loop closed, dropped a callback", self._name)

    def _run(self, handler: Callable[..., None], args: tuple[Any, ...]) -> None:
        try:
            handler(*args)
        except Exception:
            self.handler_errors += 1
            logger.exception("%s: loop-side handler failed", self._name)

    def sdk_handler(
        self, extract: Callable[[Any], T | None], deliver: Callable[[T], None]
    ) -> Callable[[Any], None]:
        """A callback for ``EventSignal.connect``.

        Args:
            extract: Runs on the SDK thread; turns the SDK event into a plain value, or
                ``None`` to drop it.
            deliver: Runs on the loop with that value.

        Returns:
            The callback; it never raises (errors are logged and counted).
        """

        def callback(event: Any) -> None:
            try:
                value = extract(event)
            except Exception:
                self.handler_errors += 1
                logger.exception("%s: SDK-thread handler failed", self._name)
                return
            if value is not None:
                self.post(deliver, value)

        return callback


async def run_detached(fn: Callable[[], object], timeout_s: float, name: str) -> bool:
    """Run a blocking SDK call in a daemon thread; wait for it at most ``timeout_s``.

    The default executor is not used: an SDK call that hangs (stopping a recognizer whose
    connection failed can take seconds) must not hold up the loop's shutdown, which waits for
    every executor thread.

    Returns:
        True when ``fn`` returned in time without raising.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bool] = loop.create_future()

    def settle(ok: bool) -> None:
        if not done.done():
            done.set_result(ok)

    def target() -> None:
        ok = True
        try:
            fn()
        except Exception:
            ok = False
            logger.exception("%s failed", name)
        with contextlib.suppress(RuntimeError):  # the loop is gone; nobody waits any more
            loop.call_soon_threadsafe(settle, ok)

    threading.Thread(target=target, name=name, daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.shield(done), timeout_s)
    except TimeoutError:
        logger.warning("%s did not finish within %.1f s", name, timeout_s)
        return False


__all__ = ["ThreadBridge", "run_detached"]
