"""Serving with uvicorn, with a graceful drain on SIGTERM.

uvicorn's own shutdown closes every WebSocket at once (close code 1012). Calls deserve
better: :class:`DrainingServer` turns the first SIGTERM/SIGINT into a drain. New calls are
refused (WebSocket close 1013, ``/ready`` answers 503 so load balancers move away), live calls
continue until they end or the drain timeout passes, and only then does uvicorn's normal
shutdown run (closing what is left and running the lifespan shutdown). On a drain timeout the
admission's drain-timeout hooks run first (ACS calls are hung up through Call Automation,
browser clients get ``call_ended``). A second SIGINT forces exit.

Every connection also gets a header-read deadline (:mod:`adapters.http.header_timeout`):
the server speaks HTTP/1.1 through that protocol (over httptools when the config says
``http="httptools"``, else h11) unless the config names another protocol class.

:func:`serving_config` is how ``parley serve`` configures uvicorn: uvloop and httptools when
installed (``fast_loop``), and :class:`~adapters.http.media_socket.MediaSocketProtocol` for
WebSockets (the media fast path).
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import socket
import time
from types import FrameType
from typing import Any

import uvicorn

from adapters.http.header_timeout import DEFAULT_HEADER_TIMEOUT_S, header_deadline_protocol
from adapters.http.limits import CallAdmission
from adapters.http.media_socket import MediaSocketProtocol

__all__ = ["DrainingServer", "fast_loop_available", "reuse_port_socket", "serving_config"]

logger = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """A uvicorn server that drains live calls before shutting down.

    Args:
        config: uvicorn configuration (the app must be an instance, not an import string).
            Its ``http`` is replaced by the header-deadline h11 protocol when it is a name
            (``"auto"``, ``"h11"``...).
        admission: The app's call admission (``app.state.admission``).
        drain_timeout_s: Longest wait for live calls after the signal.
        header_timeout_s: Longest time a client may take to send a request head, seconds.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        admission: CallAdmission,
        drain_timeout_s: float,
        header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S,
    ) -> None:
        if isinstance(config.http, str):
            fast = config.http == "httptools"
            config.http = header_deadline_protocol(header_timeout_s, "httptools" if fast else "h11")
        super().__init__(config)
        self._admission = admission
        self._drain_timeout_s = drain_timeout_s
        self._drain_deadline: float | None = None

    @property
    def draining(self) -> bool:
        """True between the first signal and the start of uvicorn's shutdown."""
        return self._drain_deadline is not None and not self.should_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: begin draining. Second SIGINT: force exit."""
        if self._drain_deadline is None:
            logger.info(
                "signal %s: draining %d live call(s), up to %.0f s",
                signal.Signals(sig).name,
                self._admission.active,
                self._drain_timeout_s,
            )
            self._admission.begin_drain()
            self._drain_deadline = time.monotonic() + self._drain_timeout_s
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        """Called by uvicorn every 0.1 s; ends the drain when calls are done or time is up."""
        if self._drain_deadline is not None and not self.should_exit:
            if self._admission.active == 0:
                logger.info("drain complete: no live call")
                self.should_exit = True
            elif time.monotonic() >= self._drain_deadline:
                logger.warning("drain timeout: closing %d live call(s)", self._admission.active)
                # End calls politely first (ACS hang-ups, browser call_ended), bounded.
                await self._admission.drain_timed_out()
                self.should_exit = True
        return await super().on_tick(counter)


def fast_loop_available() -> bool:
    """True when both uvloop and httptools are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("uvloop", "httptools"))


def serving_config(app: Any, *, fast_loop: bool = True, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration of ``parley serve``.

    Args:
        app: The ASGI app instance.
        fast_loop: uvloop and httptools when both are installed (else the standard library's
            asyncio loop and h11, as with ``False``).
        **options: Any other ``uvicorn.Config`` keyword (host, port, ws_max_size...).

    Returns:
        The config, with :class:`~adapters.http.media_socket.MediaSocketProtocol` for
        WebSockets.
    """
    fast = fast_loop and fast_loop_available()
    return uvicorn.Config(
        app,
        loop="uvloop" if fast else "asyncio",
        http="httptools" if fast else "h11",
        ws=MediaSocketProtocol,
        **options,
    )


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket with ``SO_REUSEPORT``, so several processes share ``port``.

    The kernel spreads new connections across the processes listening on the port (Linux
    ``socket(7)``, ``SO_REUSEPORT``: https://man7.org/linux/man-pages/man7/socket.7.html).

    Raises:
        OSError: The address cannot be bound, or the platform has no ``SO_REUSEPORT``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
