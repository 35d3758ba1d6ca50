"""Server limits: call admission (concurrency, draining) and the HTTP body-size limit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimit", "CallAdmission", "CallRefused", "DrainHook", "ServerLimits"]

logger = logging.getLogger(__name__)

DrainHook = Callable[[], Awaitable[None]]
"""Async hook run when the drain times out (end what is still live, politely)."""


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Limits applied to every endpoint.

    Attributes:
        max_concurrent_calls: Calls one process runs at once; more are refused.
        max_message_bytes: Largest WebSocket message accepted, bytes; larger ones are
            dropped and counted (``too_large``).
        max_request_bytes: Largest HTTP request body, bytes; larger gets 413.
        idle_timeout_s: A call whose client sends nothing for this long is closed.
        drain_timeout_s: On shutdown, live calls may run this long.
        ready_timeout_s: Timeout of each readiness probe.
    """

    max_concurrent_calls: int = 50
    max_message_bytes: int = 64 * 1024
    max_request_bytes: int = 1024 * 1024
    idle_timeout_s: float = 30.0
    drain_timeout_s: float = 30.0
    ready_timeout_s: float = 1.0


class CallRefused(Exception):  # noqa: N818 (a refusal, not a fault)
    """A call cannot be admitted.

    Attributes:
        reason: ``"busy"`` or ``"draining"``, a metric label.
        detail: Sentence for the client (WebSocket close reason, at most 123 bytes).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class CallAdmission:
    """Counts live calls of one app, refuses beyond the limit, and drains on shutdown.

    One instance per app (kept on ``app.state``), used by every call endpoint (browser and,
    through bootstrap, ACS media) so the limit is per process.

    Args:
        max_calls: Calls admitted at once.
    """

    def __init__(self, max_calls: int) -> None:
        self._max = max_calls
        self._active = 0
        self._draining = False
        self._drain_hooks: list[DrainHook] = []
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def active(self) -> int:
        """Calls in progress."""
        return self._active

    @property
    def draining(self) -> bool:
        """True once :meth:`begin_drain` was called: no new call is admitted."""
        return self._draining

    def acquire(self) -> None:
        """Take a call slot; pair with :meth:`release`.

        Raises:
            CallRefused: Draining, or ``max_calls`` calls are in progress.
        """
        if self._draining:
            raise CallRefused("draining", "server draining: shutting down, call again shortly")
        if self._active >= self._max:
            raise CallRefused(
                "busy", f"server busy: {self._active} of {self._max} calls in progress"
            )
        self._active += 1
        self._idle.clear()

    def release(self) -> None:
        """Give back a slot taken by :meth:`acquire`."""
        self._active = max(0, self._active - 1)
        if self._active == 0:
            self._idle.set()

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a call slot for the enclosed block.

        Raises:
            CallRefused: Draining, or ``max_calls`` calls are in progress.
        """
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def begin_drain(self) -> None:
        """Stop admitting calls (SIGTERM); live calls continue."""
        self._draining = True

    def on_drain_timeout(self, hook: DrainHook) -> None:
        """Register ``hook``, run by :meth:`drain_timed_out` (ACS hang-ups, browser ends)."""
        self._drain_hooks.append(hook)

    async def drain_timed_out(self, timeout_s: float = 5.0) -> None:
        """Run every drain-timeout hook concurrently, at most ``timeout_s`` in all.

        Called by the server when live calls outlast the drain timeout, before it closes the
        remaining connections. A hook's failure is logged; it never stops the others.
        """
        if not self._drain_hooks:
            return

        async def run(hook: DrainHook) -> None:
            try:
                await hook()
            except Exception:
                logger.exception("drain-timeout hook failed")

        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*(run(h) for h in self._drain_hooks))
        except TimeoutError:
            logger.warning("drain-timeout hooks did not finish within %.1f s", timeout_s)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no call is live, at most ``timeout_s``; True when idle."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True


class BodySizeLimit:
    """ASGI middleware: HTTP request bodies over ``max_bytes`` get 413 (WebSockets pass).

    Checks ``Content-Length`` up front and counts streamed chunks otherwise, so a chunked body
    cannot slip past.

    Args:
        app: The wrapped application.
        max_bytes: Largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self._max:
                    await self._reject(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._max:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = f"request body larger than {self._max} bytes".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
