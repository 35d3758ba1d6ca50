"""A local stand-in for Azure OpenAI and OpenAI-compatible chat completions (streaming SSE).

It speaks the wire protocol the real ``openai`` SDK expects, so the adapter is tested offline
with the real SDK (openai 3.52 is built on ``httpx2``; respx cannot patch it, hence a real
server). Wire facts: docs/wire-protocols.md, "Azure OpenAI chat completions (SSE)", and the
Azure OpenAI REST reference "Chat completions - Create" (``/openai/deployments/{deployment}/
chat/completions?api-version=...``, header ``api-key`` or ``Authorization: Bearer``) and
"Content filtering" (``prompt_filter_results``, ``content_filter_results``).

Paths:
    * ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` (Azure): checks
      ``api-key`` or ``Authorization: Bearer``; streams Azure's extra fields (a first chunk with
      ``choices: []`` and ``prompt_filter_results``, ``content_filter_results`` on every choice).
    * ``POST /v1/chat/completions`` (OpenAI-compatible: vLLM, Ollama, llama.cpp): checks
      ``Authorization: Bearer``.

Each request is answered by the next scripted :class:`Reply` (``standin.script(...)``), or, when
none is queued, by ``standin.responder`` (default :class:`KeywordAgent`, a tiny agent that
calls tools whose name words appear in the caller's words and answers tool results), so
``parley chat`` can run the bank example offline against it.

Run it from tests with :func:`running_standin` (a thread with its own event loop; uvicorn on
127.0.0.1 and a free port) or from a shell with ``python -m tests.emulators.openai_standin``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

logger = logging.getLogger(__name__)

DEFAULT_API_KEY = "standin-key"
DEFAULT_BEARER = "standin-token"

_SAFE = {"filtered": False, "severity": "safe"}
_FILTER_SAFE = {
    "hate": _SAFE,
    "self_harm": _SAFE,
    "sexual": _SAFE,
    "violence": _SAFE,
}
_FILTER_HIT = {**_FILTER_SAFE, "violence": {"filtered": True, "severity": "high"}}


@dataclass(frozen=True, slots=True)
class ScriptedToolCall:
    """A tool call the stand-in streams.

    Attributes:
        name: Function name.
        arguments: JSON text sent as argument fragments (may be deliberately malformed).
        id: Call id; default ``call_<n>``.
    """

    name: str
    arguments: str = "{}"
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer to one request.

    Attributes:
        text: Assistant text, streamed in ``chunk_chars`` pieces.
        tool_calls: Tool calls, each streamed as a header delta then argument fragments.
        chunk_chars: Characters per content delta.
        argument_chunk_chars: Characters per tool-call argument fragment.
        finish_reason: Default ``tool_calls`` when there are tool calls, else ``stop``.
        first_token_delay_s: Delay before the first content/tool-call delta (the headers and
            Azure's prompt-filter chunk go out at once, as the service does).
        chunk_delay_s: Delay between deltas.
        status: HTTP status; not 200 answers with ``error`` as the JSON error body.
        error: Error object for a non-200 answer (``{"code": ..., "message": ...}``).
        headers: Extra response headers (``retry-after``, ``retry-after-ms``).
        disconnect_after: Abort the connection after this many deltas.
        malformed_after: Send a non-JSON ``data:`` line after this many deltas.
        error_event_after: Send ``data: {"error": ...}`` (with ``error``) after this many deltas.
        content_filter: Filter the completion (``finish_reason: content_filter``).
        usage: (prompt_tokens, completion_tokens); default counts words.
        parallel: Stream the tool calls' fragments interleaved instead of one after another.
        inject: ``(n, data)`` pairs: send ``data: <data>`` verbatim before the n-th delta
            (0-based), e.g. a JSON chunk of an unexpected shape.
    """

    text: str = ""
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    chunk_chars: int = 4
    argument_chunk_chars: int = 3
    finish_reason: str | None = None
    first_token_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    status: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    disconnect_after: int | None = None
    malformed_after: int | None = None
    error_event_after: int | None = None
    content_filter: bool = False
    usage: tuple[int, int] | None = None
    parallel: bool = False
    inject: tuple[tuple[int, str], ...] = ()


def rate_limited(retry_after_s: float | None = 0.05, *, in_ms: bool = False) -> Reply:
    """A 429 answer, with ``retry-after`` (seconds) or ``retry-after-ms``."""
    headers: dict[str, str] = {}
    if retry_after_s is not None:
        if in_ms:
            headers["retry-after-ms"] = str(int(retry_after_s * 1000))
        else:
            headers["retry-after"] = f"{retry_after_s:g}"
    return Reply(
        status=429,
        headers=headers,
        error={
            "code": "429",
            "message": "Requests to the deployment have exceeded the rate limit.",
        },
    )


def server_error(status: int = 500) -> Reply:
    """A 5xx answer."""
    return Reply(
        status=status, error={"code": "server_error", "message": "The server had an error."}
    )


def prompt_filtered() -> Reply:
    """Azure's 400 for a prompt its content filter blocked."""
    return Reply(
        status=400,
        error={
            "code": "content_filter",
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
            "content management policy.",
            "param": "prompt",
            "status": 400,
            "innererror": {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_result": _FILTER_HIT,
            },
        },
    )


@dataclass(slots=True)
class RecordedRequest:
    """What the stand-in saw of one request, and how far its answer got.

    Attributes:
        path: URL path.
        query: Query parameters.
        headers: Request headers (lower-case names).
        body: Decoded JSON body.
        deltas_sent: Content/tool-call deltas written so far.
        disconnected: Set when the client went away before the answer ended.
        finished: Set when the answer ended (completely, by abort, or by disconnect).
        received_at: ``time.monotonic()`` when the request body was read.
        first_delta_at: ``time.monotonic()`` just before the first delta was written.
    """

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    deltas_sent: int = 0
    disconnected: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    received_at: float = 0.0
    first_delta_at: float = 0.0


Responder = Callable[[dict[str, Any]], Reply]


class _AbortConnection(Exception):  # noqa: N818 - a signal, not an error condition
    """Raised inside the app to make uvicorn drop the connection mid-body."""


class KeywordAgent:
    """A tiny deterministic agent, enough to run an agent graph offline.

    * After a ``tool`` message: answers with the tool result's text (``"Done: <content>"``),
      or, for a handoff result, greets as the new agent.
    * Otherwise calls the first tool (handoff tools included) whose name words (``get_balance``
      -> ``balance``; ``handoff_to_cards`` -> ``cards``/``card``) appear in the last user
      message, with string arguments filled from digits in the message.
    * Otherwise echoes: ``"You said: <text>."``
    """

    _STOP_WORDS = frozenset({"get", "set", "to", "handoff", "the", "a", "do", "make", "check"})

    def __call__(self, body: dict[str, Any]) -> Reply:
        messages: list[dict[str, Any]] = body.get("messages", [])
        tools: list[dict[str, Any]] = body.get("tools", []) or []
        last = messages[-1] if messages else {"role": "user", "content": ""}
        if last.get("role") == "tool":
            content = str(last.get("content") or "")
            return Reply(text=f"Done: {content}".strip())
        text = str(last.get("content") or "")
        words = set(re.findall(r"[a-z]+", text.lower()))
        for tool in tools:
            function = tool.get("function", {})
            name = str(function.get("name", ""))
            keys = {w for w in re.split(r"[_\-]+", name.lower()) if w and w not in self._STOP_WORDS}
            keys |= {k[:-1] for k in keys if k.endswith("s") and len(k) > 3}
            if keys & words:
                arguments = self._arguments(function.get("parameters") or {}, text)
                return Reply(tool_calls=(ScriptedToolCall(name, json.dumps(arguments)),))
        return Reply(text=f"You said: {text}." if text else "Hello.")

    @staticmethod
    def _arguments(schema: dict[str, Any], text: str) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        digits = re.findall(r"\d+", text)
        arguments: dict[str, Any] = {}
        for name in schema.get("required") or []:
            kind = (properties.get(name) or {}).get("type", "string")
            if kind in ("integer", "number"):
                arguments[name] = int(digits[0]) if digits else 0
            elif kind == "boolean":
                arguments[name] = True
            else:
                arguments[name] = digits[0] if digits else text
        return arguments


class OpenAIStandin:
    """The stand-in's state and ASGI app; serve it with :func:`running_standin`.

    Args:
        api_key: Accepted ``api-key`` header value (Azure).
        bearer_token: Accepted ``Authorization: Bearer`` token (Azure Entra, OpenAI-compatible).
        responder: Answers requests when no reply is scripted.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        bearer_token: str = DEFAULT_BEARER,
        responder: Responder | None = None,
    ) -> None:
        self.api_key = api_key
        self.bearer_token = bearer_token
        self.responder: Responder = responder or KeywordAgent()
        self.requests: list[RecordedRequest] = []
        self.rejected = 0
        """Requests refused for missing or wrong credentials."""
        self.base_url = ""
        self._scripted: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # The chat-completions paths are raw ASGI (see __call__); this app serves the rest:
        # GET /_standin/requests (what was seen, with timestamps, for benchmarks run against
        # a stand-in in another process) and 404 for anything else.
        self.app = Starlette(routes=[Route("/_standin/requests", self._report)])

    @property
    def azure_endpoint(self) -> str:
        """``azure_endpoint`` for ``AsyncAzureOpenAI``."""
        return self.base_url

    @property
    def openai_base_url(self) -> str:
        """``base_url`` for ``AsyncOpenAI``."""
        return f"{self.base_url}/v1"

    async def _report(self, request: Request) -> JSONResponse:
        return JSONResponse(
            [
                {
                    "path": r.path,
                    "received_at": r.received_at,
                    "first_delta_at": r.first_delta_at,
                    "deltas_sent": r.deltas_sent,
                    "disconnected": r.disconnected.is_set(),
                }
                for r in list(self.requests)
            ]
        )

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self._scripted.extend(replies)

    def reset(self) -> None:
        """Forget scripted replies and recorded requests."""
        with self._lock:
            self._scripted.clear()
            self.requests.clear()
            self.rejected = 0

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._scripted:
                return self._scripted.popleft()
        return self.responder(body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: the chat-completions paths are handled raw, to see disconnects."""
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        azure = re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", path)
        if scope["type"] != "http" or not (azure or path == "/v1/chat/completions"):
            await self.app(scope, receive, send)
            return
        await self._chat(scope, receive, send, azure=azure is not None)

    async def _chat(self, scope: Scope, receive: Receive, send: Send, *, azure: bool) -> None:
        request = Request(scope, receive)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not self._authorized(headers, azure=azure):
            self.rejected += 1
            await _json(send, 401, {"error": {"code": "401", "message": "Access denied."}})
            return
        if azure and "api-version" not in request.query_params:
            await _json(send, 404, {"error": {"code": "404", "message": "Resource not found"}})
            return
        try:
            body = json.loads(await request.body())
        except ValueError:
            await _json(send, 400, {"error": {"code": "invalid_json", "message": "bad body"}})
            return
        record = RecordedRequest(scope["path"], dict(request.query_params), headers, body)
        record.received_at = time.monotonic()
        self.requests.append(record)
        reply = self._next_reply(body)
        try:
            if reply.status != 200:
                await _json(send, reply.status, {"error": reply.error or {}}, reply.headers)
                return
            if not body.get("stream"):
                await _json(send, 400, {"error": {"code": "stream_required", "message": "x"}})
                return
            await self._stream(record, reply, body, receive, send, azure=azure)
        finally:
            record.finished.set()

    def _authorized(self, headers: dict[str, str], *, azure: bool) -> bool:
        if azure and headers.get("api-key") == self.api_key:
            return True
        return headers.get("authorization") == f"Bearer {self.bearer_token}"

    async def _stream(
        self,
        record: RecordedRequest,
        reply: Reply,
        body: dict[str, Any],
        receive: Receive,
        send: Send,
        *,
        azure: bool,
    ) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    return

        watcher = asyncio.create_task(watch())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-cache"),
                        *((k.encode(), v.encode()) for k, v in reply.headers.items()),
                    ],
                }
            )
            frames = _Frames(reply, body, azure=azure, completion_id=f"chatcmpl-{next(self._ids)}")
            for kind, payload in frames:
                delay = 0.0
                if kind == "delta":
                    if reply.disconnect_after is not None and (
                        record.deltas_sent >= reply.disconnect_after
                    ):
                        raise _AbortConnection
                    for at, data in reply.inject:
                        if at == record.deltas_sent:
                            await _event(send, data)
                    if reply.malformed_after is not None and (
                        record.deltas_sent == reply.malformed_after
                    ):
                        await _event(send, '{"choices": [ {"delta": ')
                    if reply.error_event_after is not None and (
                        record.deltas_sent == reply.error_event_after
                    ):
                        await _event(send, json.dumps({"error": reply.error or {}}))
                        break
                    delay = (
                        reply.first_token_delay_s
                        if record.deltas_sent == 0
                        else reply.chunk_delay_s
                    )
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(gone.wait(), delay)
                if gone.is_set():
                    record.disconnected.set()
                    return
                if kind == "delta" and record.deltas_sent == 0:
                    record.first_delta_at = time.monotonic()
                await _event(send, payload)
                if kind == "delta":
                    record.deltas_sent += 1
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            record.disconnected.set()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if gone.is_set():
                record.disconnected.set()


class _Frames:
    """The SSE ``data:`` payloads of one reply, tagged ``meta`` or ``delta``."""

    def __init__(self, reply: Reply, body: dict[str, Any], *, azure: bool, completion_id: str):
        self.reply = reply
        self.azure = azure
        self.id = completion_id
        self.model = str(body.get("model") or "standin-model")
        self.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self.created = int(time.time())
        self.prompt_words = sum(len(str(m.get("content") or "").split()) for m in body["messages"])

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> str:
        data: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_standin",
            "choices": choices,
        }
        if self.include_usage:
            data["usage"] = None
        data.update(extra)
        return json.dumps(data)

    def _choice(
        self, delta: dict[str, Any], finish: str | None = None, *, hit: bool = False
    ) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "index": 0,
            "delta": delta,
            "finish_reason": finish,
            "logprobs": None,
        }
        if self.azure:
            choice["content_filter_results"] = (
                (_FILTER_HIT if hit else _FILTER_SAFE) if delta.get("content") or hit else {}
            )
        return choice

    def __iter__(self) -> Iterator[tuple[str, str]]:
        reply = self.reply
        if self.azure:
            yield (
                "meta",
                json.dumps(
                    {
                        "choices": [],
                        "created": 0,
                        "id": "",
                        "model": "",
                        "object": "",
                        "prompt_filter_results": [
                            {"prompt_index": 0, "content_filter_results": _FILTER_SAFE}
                        ],
                    }
                ),
            )
        yield "meta", self._chunk([self._choice({"role": "assistant", "content": ""})])
        step = max(1, reply.chunk_chars)
        for i in range(0, len(reply.text), step):
            yield "delta", self._chunk([self._choice({"content": reply.text[i : i + step]})])
        yield from self._tool_frames()
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        if reply.content_filter:
            finish = "content_filter"
        yield "meta", self._chunk([self._choice({}, finish, hit=reply.content_filter)])
        if self.include_usage:
            prompt, completion = reply.usage or (
                self.prompt_words,
                len(reply.text.split()) + len(reply.tool_calls),
            )
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            yield "meta", self._chunk([], usage=usage)
        yield "meta", "[DONE]"

    def _tool_frames(self) -> Iterator[tuple[str, str]]:
        reply = self.reply
        step = max(1, reply.argument_chunk_chars)
        pieces: list[list[dict[str, Any]]] = []
        for index, call in enumerate(reply.tool_calls):
            head = {
                "index": index,
                "id": call.id or f"call_{index + 1}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            parts = [head] + [
                {"index": index, "function": {"arguments": call.arguments[i : i + step]}}
                for i in range(0, len(call.arguments), step)
            ]
            pieces.append(parts)
        if reply.parallel:
            ordered = [p for group in itertools.zip_longest(*pieces) for p in group if p]
        else:
            ordered = [p for group in pieces for p in group]
        for part in ordered:
            yield "delta", self._chunk([self._choice({"tool_calls": [part]})])


async def _event(send: Send, data: str) -> None:
    await send(
        {"type": "http.response.body", "body": f"data: {data}\n\n".encode(), "more_body": True}
    )


async def _json(
    send: Send, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(payload).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _free_socket(port: int = 0) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP, and without it Nagle holds each small SSE event back until
    # the client's delayed ACK (about 40 ms) on a reused connection.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@contextlib.contextmanager
def running_standin(
    standin: OpenAIStandin | None = None, *, port: int = 0
) -> Iterator[OpenAIStandin]:
    """Serve a stand-in with uvicorn on 127.0.0.1 in a thread; stop it on exit.

    Args:
        standin: The stand-in to serve; a new one (keyword agent) by default.
        port: TCP port; 0 picks a free one (read it from ``standin.base_url``).
    """
    standin = standin or OpenAIStandin()
    sock = _free_socket(port)
    config = uvicorn.Config(
        standin,
        lifespan="off",
        ws="none",
        http="h11",
        log_level="critical",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="openai-standin", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("openai stand-in did not start")
        time.sleep(0.005)
    host, port = sock.getsockname()[:2]
    standin.base_url = f"http://{host}:{port}"
    try:
        yield standin
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def main() -> None:
    """Serve the stand-in (keyword agent) until interrupted, printing the env to point at it."""
    import argparse

    parser = argparse.ArgumentParser(description="Local Azure OpenAI / OpenAI stand-in")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    args = parser.parse_args()
    # Clients that hang up mid-stream (barge-in tests, benchmarks) make asyncio warn about
    # writes to a closed socket; expected here.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    with running_standin(port=args.port) as standin:
        # The one thing this command is for: the settings that point Parley at it.
        sys.stdout.write(
            f"PARLEY_LLM=azure_openai AZURE_OPENAI_ENDPOINT={standin.azure_endpoint} "
            f"AZURE_OPENAI_API_KEY={standin.api_key} AZURE_OPENAI_DEPLOYMENT=standin\n"
            f"PARLEY_LLM=openai OPENAI_BASE_URL={standin.openai_base_url} "
            f"OPENAI_API_KEY={standin.bearer_token}\n"
        )
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
