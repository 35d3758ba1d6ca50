"""HTTP connection limits of the server (issue 12 item 11): slowloris connections are closed.

A real uvicorn (``DrainingServer``, as ``parley serve`` runs it) on 127.0.0.1 with a short
header-read deadline, driven by raw sockets. Bounded loops; every socket and the server stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from adapters.http import DrainingServer
from adapters.http.header_timeout import header_deadline_protocol
from adapters.http.limits import CallAdmission

HEADER_TIMEOUT_S = 0.5


@pytest.fixture(params=["h11", "httptools"])
def parser(request: pytest.FixtureRequest) -> str:
    """Both HTTP parsers: h11, and httptools (what `parley serve` uses where installed)."""
    return str(request.param)


@contextlib.contextmanager
def server(header_timeout_s: float = HEADER_TIMEOUT_S, parser: str = "h11") -> Iterator[int]:
    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def size(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/", ok), Route("/size", size, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, lifespan="off", http=parser
    )
    draining = DrainingServer(
        config,
        admission=CallAdmission(1),
        drain_timeout_s=1.0,
        header_timeout_s=header_timeout_s,
    )
    thread = threading.Thread(target=lambda: asyncio.run(draining.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not draining.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield draining.servers[0].sockets[0].getsockname()[1]
    finally:
        draining.should_exit = True
        thread.join(timeout=10)


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed ``sock`` (EOF or reset); False while it is held open."""
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


def test_connections_that_never_finish_their_headers_are_closed(parser: str) -> None:
    with server(parser=parser) as port:
        sockets = []
        try:
            for _ in range(50):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
                sock.setblocking(False)
                sockets.append(sock)
            deadline = time.monotonic() + 10  # bounded: 20 header timeouts
            open_ = list(sockets)
            while open_ and time.monotonic() < deadline:
                open_ = [s for s in open_ if not closed_by_server(s)]
                time.sleep(0.05)
            assert open_ == [], f"{len(open_)} slow connections still held"
            # The server still serves ordinary requests.
            assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "ok"
        finally:
            for sock in sockets:
                sock.close()


def test_a_silent_connection_is_closed_and_a_prompt_keep_alive_client_is_served(
    parser: str,
) -> None:
    with server(parser=parser) as port:
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            silent.settimeout(10)
            assert silent.recv(1024) == b""  # closed by the server, not by the 10 s timeout
        finally:
            silent.close()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(3):  # the deadline re-arms after each response, never cuts a request
                assert http.get("/").text == "ok"


def test_a_request_head_over_16_kib_is_refused_and_the_connection_closed(parser: str) -> None:
    with (
        server(header_timeout_s=5.0, parser=parser) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 * 1024)
        with contextlib.suppress(ConnectionError):
            sock.sendall(head)
        response = b""
        with contextlib.suppress(ConnectionError):
            while chunk := sock.recv(4096):
                response += chunk
    # h11 answers 400 at its 16 KiB bound; over httptools the protocol answers 431 itself.
    assert response.startswith(b"HTTP/1.1 431" if parser == "httptools" else b"HTTP/1.1 400")


def test_a_large_body_sent_with_its_small_head_in_one_write_is_served(parser: str) -> None:
    """The head bound counts the head only: an Event Grid batch of 200 KiB is no large head."""
    body = b"[" + b'{"eventType": "x"},' * 10_000 + b"{}]"
    with (
        server(header_timeout_s=5.0, parser=parser) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        head = (
            b"POST /size HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        sock.sendall(head + body)
        response = b""
        while chunk := sock.recv(4096):
            response += chunk
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert response.endswith(str(len(body)).encode())


def test_headers_sent_slowly_but_within_the_deadline_are_served(parser: str) -> None:
    with (
        server(header_timeout_s=5.0, parser=parser) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        for piece in (b"GET / HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(0.05)
        response = b""
        while chunk := sock.recv(4096):
            response += chunk
    assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"ok")


def test_the_header_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        header_deadline_protocol(0)
