"""Serving an ASGI app with uvicorn on 127.0.0.1 inside the running event loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from adapters.acs_emulator.server import free_port
from adapters.http.media_socket import MediaSocketProtocol


@contextlib.asynccontextmanager
async def serve_app(
    app: Any,
    *,
    port: int = 0,
    lifespan: str = "auto",
    start_timeout_s: float = 20.0,
    stop_timeout_s: float = 30.0,
    ws: str | type[Any] = MediaSocketProtocol,
    http: str | type[Any] = "auto",
) -> AsyncIterator[str]:
    """Serve ``app`` on ``127.0.0.1`` and yield its base URL (``http://127.0.0.1:PORT``).

    The server runs as a task of the current loop and is shut down (graceful, then cancelled)
    when the context exits. The graceful part includes the lifespan shutdown, which closes
    the adapters (decoder processes, TTS workers: up to 5 s each); ``stop_timeout_s`` leaves
    room for that on a loaded machine, since a cancelled lifespan leaves its resource
    generators running when the loop closes (an "athrow(): asynchronous generator is already
    running" error at exit). WebSockets use ``ws``: by default the media channel protocol
    ``parley serve`` uses (:mod:`adapters.http.media_socket`); ``"websockets-sansio"`` is
    plain uvicorn (streams then speak ASGI only). HTTP uses ``http``: uvicorn's choice by
    default, or a protocol class (:func:`adapters.http.header_timeout.header_deadline_protocol`).

    Raises:
        TimeoutError: The server did not start within ``start_timeout_s``.
    """
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan=lifespan,  # type: ignore[arg-type]
        access_log=False,
        ws_max_size=2**20,
        ws=ws,
        http=http,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name=f"uvicorn-{port}")
    deadline = time.monotonic() + start_timeout_s
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server did not start within {start_timeout_s} s")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=stop_timeout_s)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
