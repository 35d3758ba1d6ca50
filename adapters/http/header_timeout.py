"""A header-read deadline for uvicorn's h11 protocol: slowloris connections are closed.

uvicorn arms its keep-alive timer only after a response, so a connection that opens and then
sends its request headers one byte at a time (or never finishes them) is held forever; 200 of
them held a server for 40 s+ in issue 12. :func:`header_deadline_protocol` returns an
``H11Protocol`` subclass that closes any connection whose request line and headers are not
complete within ``timeout_s`` of the connection (or of the previous response, on keep-alive).
h11 itself bounds the header size (``h11_max_incomplete_event_size``, 16 KiB by default:
larger gets 431/400). Sources: uvicorn "Settings" (www.uvicorn.org/settings/, ``--http``,
``--h11-max-incomplete-event-size``, ``--timeout-keep-alive``) and
``uvicorn/protocols/http/h11_impl.py``; with ``httptools`` (the faster parser ``parley serve``
uses where it is installed) the same deadline is kept by ``httptools_impl.py``'s
``on_headers_complete`` callback; httptools sets no bound on the head's size, so that protocol
answers **431** and closes once a head passes :data:`MAX_HEAD_BYTES` (h11's default bound).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DEFAULT_HEADER_TIMEOUT_S", "header_deadline_protocol"]

logger = logging.getLogger(__name__)

DEFAULT_HEADER_TIMEOUT_S = 10.0
"""Longest time a client may take to send a request line and its headers, seconds."""

MAX_HEAD_BYTES = 16 * 1024
"""Largest request line and headers accepted over httptools, bytes (h11's own default)."""

_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


class _HeaderDeadlineH11Protocol(H11Protocol):
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        # Once h11 has parsed a whole request head, the peer is no longer "IDLE".
        if self.conn.their_state is not h11.IDLE:
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_deadline()  # the next request's head gets the same deadline

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(
            self.header_timeout_s, self._header_deadline_expired
        )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_expired(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            logger.info(
                "closing a connection that sent no complete request head within %.1f s",
                self.header_timeout_s,
            )
            self.transport.close()


def _httptools_protocol() -> type[Any]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class _HeaderDeadlineHttpToolsProtocol(HttpToolsProtocol):
        header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
        _header_deadline: asyncio.TimerHandle | None = None
        _head_pending = False
        _head_bytes = 0

        def data_received(self, data: bytes) -> None:
            # Parse first: one read often holds a small head and a large body (an Event Grid
            # batch), and only the parser knows where the head ends (on_headers_complete).
            # Bytes of a head still incomplete after the read are counted: its growth stays
            # bounded by one read beyond MAX_HEAD_BYTES.
            was_pending = self._head_pending
            super().data_received(data)
            if not (was_pending and self._head_pending) or self.transport.is_closing():
                return
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                logger.info(
                    "closing a connection whose request head passed %d bytes", MAX_HEAD_BYTES
                )
                self._disarm_header_deadline()
                self._head_pending = False
                self.transport.write(_HEAD_TOO_LARGE)
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_deadline()
            super().connection_lost(exc)

        def on_headers_complete(self) -> None:
            self._head_pending = False
            self._head_bytes = 0
            self._disarm_header_deadline()
            super().on_headers_complete()

        def handle_websocket_upgrade(self) -> None:
            super().handle_websocket_upgrade()
            # The WebSocket protocol owns the connection now and this one never hears of it
            # again (no connection_lost, where uvicorn drops the parser): drop it here, or
            # the parser, which calls back into this protocol, keeps the two in a cycle for
            # the garbage collector on every media socket (issue 12, bench_soak).
            self.parser = None  # type: ignore[assignment]

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_header_deadline()

        def _arm_header_deadline(self) -> None:
            self._disarm_header_deadline()
            self._head_pending = True
            self._head_bytes = 0
            self._header_deadline = self.loop.call_later(
                self.header_timeout_s, self._header_deadline_expired
            )

        def _disarm_header_deadline(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _header_deadline_expired(self) -> None:
            self._header_deadline = None
            if self._head_pending and not self.transport.is_closing():
                logger.info(
                    "closing a connection that sent no complete request head within %.1f s",
                    self.header_timeout_s,
                )
                self.transport.close()

    return _HeaderDeadlineHttpToolsProtocol


def header_deadline_protocol(
    timeout_s: float = DEFAULT_HEADER_TIMEOUT_S, parser: Literal["h11", "httptools"] = "h11"
) -> type[Any]:
    """A uvicorn HTTP protocol class for ``uvicorn.Config(http=...)`` with a header deadline.

    Args:
        timeout_s: Longest time from connection (or previous response) to a complete request
            head, seconds.
        parser: ``h11`` (pure Python, always there) or ``httptools`` (C, when installed).

    Raises:
        ValueError: ``timeout_s`` is not positive.
        ImportError: ``httptools`` was asked for and is not installed.
    """
    if timeout_s <= 0:
        raise ValueError(f"header timeout must be positive, got {timeout_s}")
    base: type[Any] = _httptools_protocol() if parser == "httptools" else _HeaderDeadlineH11Protocol
    return type(
        f"HeaderDeadline{base.__name__.lstrip('_')}", (base,), {"header_timeout_s": timeout_s}
    )
