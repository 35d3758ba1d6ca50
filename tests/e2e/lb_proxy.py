"""A small HTTP/WebSocket load balancer on 127.0.0.1 for the multi-instance tests.

Like a cloud ingress in front of replicas: it probes every backend's ``/ready`` and sends
traffic only to those that answer 200 (a draining instance answers 503 and stops getting new
connections, as Container Apps' readiness probe does); when a connection to a backend is
refused it tries the next. Each plain HTTP request gets ``Connection: close``, so every
request (every ACS callback) is balanced on its own, to a random ready backend; WebSocket
upgrades (the ACS media sockets) go round robin, so consecutive calls spread over every
backend, and stay piped to that backend for their whole life.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from dataclasses import dataclass, field

_HEAD_LIMIT = 64 * 1024


@dataclass
class Routed:
    """One proxied request: its kind (``http``/``websocket``), path and backend name."""

    kind: str
    path: str
    backend: str


@dataclass
class LoadBalancer:
    """Round-robin (WebSocket) and random (HTTP) balancing over ready backends.

    Args:
        probe_interval_s: How often each backend's ``/ready`` is probed.
        seed: Seed of the random choice of HTTP backends.
    """

    probe_interval_s: float = 0.2
    seed: int = 0
    port: int = 0
    routed: list[Routed] = field(default_factory=list)
    _backends: dict[str, int] = field(default_factory=dict)
    _ready: set[str] = field(default_factory=set)
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 (test load spreading)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, name: str, port: int) -> None:
        """Put a backend behind the balancer (traffic starts once its /ready says 200)."""
        self._backends[name] = port

    def remove(self, name: str) -> None:
        """Take a backend out (as when its replica is gone)."""
        self._backends.pop(name, None)
        self._ready.discard(name)

    def ready(self) -> set[str]:
        return set(self._ready)

    async def start(self) -> LoadBalancer:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, limit=_HEAD_LIMIT
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._spawn(self._probe_forever())
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def __aenter__(self) -> LoadBalancer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe_forever(self) -> None:
        while True:
            backends = dict(self._backends)  # a snapshot: backends come and go meanwhile
            results = await asyncio.gather(
                *(self._probe(port) for port in backends.values()), return_exceptions=True
            )
            self._ready = {
                name
                for name, ok in zip(backends, results, strict=True)
                if ok is True and name in self._backends
            }
            await asyncio.sleep(self.probe_interval_s)

    @staticmethod
    async def _probe(port: int) -> bool:
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(1.0):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /ready HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n")
                status = await reader.readline()
                return status.split(b" ")[1:2] == [b"200"]
        except (OSError, TimeoutError, IndexError):
            return False
        finally:
            if writer is not None:
                await _close(writer)

    def _order(self, websocket: bool) -> list[str]:
        names = sorted(self._ready & set(self._backends))
        if not names:
            return []
        if websocket:
            start = next(self._turn) % len(names)
            return names[start:] + names[:start]
        self._random.shuffle(names)
        return names

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:  # owned: stop() cancels connections still open
            self._tasks.add(task)  # type: ignore[arg-type]
            task.add_done_callback(self._tasks.discard)  # type: ignore[arg-type]
        try:
            await self._forward(reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            await _close(writer)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        request_line, headers = lines[0], [h for h in lines[1:] if h]
        lowered = {h.split(":", 1)[0].strip().lower(): h.split(":", 1)[1].strip() for h in headers}
        websocket = lowered.get("upgrade", "").lower() == "websocket"
        length = int(lowered.get("content-length", "0") or 0)
        body = await reader.readexactly(length) if length else b""
        if not websocket:
            kept = [h for h in headers if h.split(":", 1)[0].strip().lower() != "connection"]
            head = ("\r\n".join([request_line, *kept, "Connection: close"]) + "\r\n\r\n").encode(
                "latin-1"
            )
        for name in self._order(websocket):
            port = self._backends.get(name)
            if port is None:
                continue
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            self.routed.append(
                Routed("websocket" if websocket else "http", request_line.split(" ")[1], name)
            )
            upstream_writer.write(head + body)
            await _pipe_both(reader, writer, upstream_reader, upstream_writer)
            return
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


async def _pipe_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until the backend is done with the connection; then close both."""
    to_upstream = asyncio.ensure_future(_copy(client_reader, upstream_writer))
    try:
        await _copy(upstream_reader, client_writer)
    finally:
        to_upstream.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await to_upstream
        await _close(upstream_writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(writer.wait_closed(), 2)
