"""One call's realtime session: opening it, reading its events, and its ordered requests.

Requests (respond, cancel, truncate, tool output, history) are sent one at a time in the
order they were made, from one owned task, each within ``port_timeout_ms``; commands never
await, so a barge-in's cancel and truncate are queued in the step that decided them. Caller
audio does not queue here: it goes straight to the session's non-blocking ``push_audio``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from domain.runtime.errors import error_code
from domain.runtime.tasks import TaskOwner
from ports import AudioFormat, AudioFrame, CallMetrics, InvalidAudioError, ParleyError
from ports.realtime import RealtimeConfig, RealtimeEvent, RealtimeModel, RealtimeSession

logger = logging.getLogger(__name__)

PORT = "realtime"
"""The port name in metrics and ``ProviderFailed`` events."""

Request = Callable[[RealtimeSession], Awaitable[None]]
"""One request: given the open session, send something."""


class LinkListener(Protocol):
    """What the link reports to its call (synchronously, on the loop)."""

    def session_event(self, event: RealtimeEvent) -> None:
        """A server event, in order."""
        ...

    def session_lost(self, code: str) -> None:
        """The session could not be opened, or ended and could not be re-established."""
        ...


class SessionLink:
    """The call's session, its event reader and its request queue.

    Args:
        model: The realtime model.
        fmt: The call's audio format.
        tasks: The call's task owner.
        metrics: Gets ``provider_error("realtime", code)`` per failed request.
        timeout_ms: Deadline of opening the session and of each request.
        listener: The call.
        call_id: For logs.
    """

    def __init__(
        self,
        *,
        model: RealtimeModel,
        fmt: AudioFormat,
        tasks: TaskOwner,
        metrics: CallMetrics,
        timeout_ms: float,
        listener: LinkListener,
        call_id: str,
    ) -> None:
        self._model = model
        self._fmt = fmt
        self._tasks = tasks
        self._metrics = metrics
        self._timeout_s = timeout_ms / 1000.0
        self._listener = listener
        self._call_id = call_id
        self._session: RealtimeSession | None = None
        self._queue: deque[tuple[Request, Callable[[str], None] | None]] = deque()
        self._wake = asyncio.Event()
        self._closed = False
        self.lost: str | None = None
        """The error code that ended the session, once it is lost."""
        self.audio_ms = 0.0
        """Caller audio pushed since the session (or its last reconnect) began, ms."""

    @property
    def ready(self) -> bool:
        """True while the session is open and usable."""
        return self._session is not None and self.lost is None

    @property
    def dropped_events(self) -> int:
        """Malformed or unknown server events the session dropped."""
        return self._session.dropped_events if self._session is not None else 0

    def open(self, config: RealtimeConfig) -> None:
        """Open the session with ``config`` and start reading it (owned tasks)."""
        self._tasks.spawn(self._run(config), "realtime-session")
        self._tasks.spawn(self._send_loop(), "realtime-requests")

    def request(self, send: Request, on_error: Callable[[str], None] | None = None) -> None:
        """Queue ``send``; ``on_error(code)`` is called if it cannot be sent."""
        if self.lost is not None or self._closed:
            if on_error is not None:
                on_error(self.lost or "stream_closed")
            return
        self._queue.append((send, on_error))
        self._wake.set()

    def push(self, frame: AudioFrame) -> bool:
        """Give one frame of caller audio to the session; False when it was not taken."""
        session = self._session
        if session is None or self.lost is not None:
            return False
        try:
            session.push_audio(frame)
        except InvalidAudioError:
            self._metrics.frame_dropped("invalid_audio")
            return False
        except ParleyError:
            self._metrics.frame_dropped("realtime_closed")
            return False
        self.audio_ms += frame.duration_ms
        return True

    def reconnected(self) -> None:
        """The session re-established itself: caller audio offsets start again from 0."""
        self.audio_ms = 0.0

    async def close(self) -> None:
        """Close the session (idempotent); queued requests are dropped."""
        self._closed = True
        session, self._session = self._session, None
        for _send, on_error in self._queue:
            if on_error is not None:
                on_error("stream_closed")
        self._queue.clear()
        if session is not None:
            try:
                async with asyncio.timeout(self._timeout_s):
                    await session.aclose()
            except Exception:  # noqa: BLE001 (closing must not fail the call)
                logger.debug("closing the realtime session failed", exc_info=True)

    async def _run(self, config: RealtimeConfig) -> None:
        try:
            session = self._model.session(config, self._fmt)
            async with asyncio.timeout(self._timeout_s):
                await session.__aenter__()
        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
            logger.warning("call %s: realtime session did not open: %r", self._call_id, exc)
            self._lose(error_code(exc))
            return
        if self._closed:
            await session.aclose()
            return
        self._session = session
        self._wake.set()
        try:
            async for event in session.events():
                self._listener.session_event(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (adapter failure -> event)
            logger.warning("call %s: realtime session ended: %r", self._call_id, exc)
            self._lose(error_code(exc))
            return
        if not self._closed:
            self._lose("stream_closed")

    def _lose(self, code: str) -> None:
        if self.lost is not None or self._closed:
            return
        self.lost = code
        self._metrics.provider_error(PORT, code)
        pending = list(self._queue)
        self._queue.clear()
        self._wake.set()
        for _send, on_error in pending:
            if on_error is not None:
                on_error(code)
        self._listener.session_lost(code)

    async def _send_loop(self) -> None:
        while True:
            session = self._session
            if session is None or not self._queue:
                if self.lost is not None:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            send, on_error = self._queue.popleft()
            try:
                async with asyncio.timeout(self._timeout_s):
                    await send(session)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (a failed request is counted)
                code = error_code(exc)
                logger.warning("call %s: realtime request failed: %s", self._call_id, code)
                self._metrics.provider_error(PORT, code)
                if on_error is not None:
                    on_error(code)
