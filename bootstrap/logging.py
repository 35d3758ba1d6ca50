"""Logging set-up: stdlib ``logging``, configured once by bootstrap.

* Text lines in development (``PARLEY_LOG_FORMAT=text``), JSON lines in production
  (``PARLEY_LOG_FORMAT=json``), on stderr.
* Every record carries ``call_id`` from the :data:`call_id_var` context variable
  (``"-"`` outside a call). Bootstrap sets it around each call
  (:class:`bootstrap.containers.CallContextHandler`); tasks and ``asyncio.to_thread`` workers
  started inside the call inherit it, so adapters and the runtime never pass it by hand.
* :class:`RedactionFilter` removes secret values (every ``SecretStr`` of the settings) and
  the values of keys named like key/secret/token/password from messages, arguments, extra
  fields and tracebacks before any handler formats them.

Library code only does ``logger = logging.getLogger(__name__)``; this module is the one place
that installs handlers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

call_id_var: ContextVar[str] = ContextVar("parley_call_id", default="-")
"""The call being handled by the current task (``"-"`` when none)."""

REDACTED = "[REDACTED]"

_SENSITIVE_NAME = re.compile(r"(?i)(key|secret|token|password|passwd|pwd|credential|signature)")
# `name=value`, `name: value`, `"name": "value"` where name looks sensitive. The value stops at
# whitespace, a quote, a comma, a semicolon or an ampersand (query strings, connection strings).
_SENSITIVE_PAIR = re.compile(
    r"""(?ix)
    (?P<name>["']?[\w.-]*(?:key|secret|token|password|passwd|pwd|credential|signature)[\w.-]*["']?)
    (?P<sep>\s*[=:]\s*)
    (?P<quote>["']?)
    (?P<value>[^\s"',;&}]+)
    """
)
# An `Authorization` header in any rendering: `authorization: Bearer x` (websockets' DEBUG
# lines), `"Authorization": "Basic x"` (JSON), `(b'authorization', b'Bearer x')` (ASGI scope
# reprs). The whole value goes, scheme included, up to the end of the quoted value or the line.
_AUTHORIZATION = re.compile(
    r"""(?ix)
    (?P<name>(?:proxy-)?authorization["']?\s*(?:[:=]|,)\s*b?["']?)
    (?P<value>[^"'\r\n]+)
    """
)
# A bearer/basic credential anywhere, and anything shaped like a JWT (three base64url parts,
# the first a JSON object: "eyJ"), wherever it appears (URLs, reprs, exception texts).
_BEARER = re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
# Record attributes that logging itself sets; anything else on a record came from `extra=`.
_RESERVED = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
    | {"message", "asctime", "call_id", "taskName"}
)
_HANDLER_NAME = "parley"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secret values, credentials and sensitive ``name=value`` pairs from ``text``.

    Besides the exact ``secrets``, it removes ``Authorization`` header values (any casing, in
    header, JSON or ASGI-tuple form), ``Bearer``/``Basic`` credentials and JWT-shaped strings
    (``eyJ...``), so an ACS media token never reaches a log line (issue 12, item 7).

    Args:
        text: Any log text.
        secrets: Exact secret values to remove wherever they appear.

    Returns:
        ``text`` with each secret and each sensitive pair's value replaced by ``[REDACTED]``.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _AUTHORIZATION.sub(lambda m: f"{m['name']}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m['scheme']} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _SENSITIVE_PAIR.sub(lambda m: f"{m['name']}{m['sep']}{m['quote']}{REDACTED}", text)


class CallIdFilter(logging.Filter):
    """Copies :data:`call_id_var` onto every record as ``record.call_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate ``record``; never drops it."""
        record.call_id = call_id_var.get()
        return True


class RedactionFilter(logging.Filter):
    """Keeps secrets out of log output.

    Attach it to handlers (handler filters see records of every logger). It renders the
    message with its arguments, redacts it, redacts ``extra=`` fields (dropping the values of
    sensitive-named ones) and pre-renders a redacted traceback.

    Args:
        secrets: Exact secret values to remove (from :meth:`Settings.secret_values`).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is removed whole.
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drops it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message, self._secrets)
        record.args = None
        for name, value in list(vars(record).items()):
            if name in _RESERVED:
                continue
            if _SENSITIVE_NAME.search(name):
                setattr(record, name, REDACTED)
            elif isinstance(value, str):
                setattr(record, name, redact(value, self._secrets))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, call_id, message, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "call_id": getattr(record, "call_id", "-"),
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RESERVED:
                payload[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(call_id)s] %(message)s"


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install Parley's handler on the root logger, replacing a previous one.

    Calling it again (tests, ``--reload``) swaps the handler instead of adding a second.

    Args:
        level: Root level name (``INFO``...).
        fmt: ``"text"`` or ``"json"``.
        secrets: Secret values to redact.
        stream: Where to write; default ``sys.stderr``.

    Returns:
        The installed handler.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(CallIdFilter())
    handler.addFilter(RedactionFilter(secrets))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in AUDIO_LOGGERS:
        # These SDKs log whole WebSocket messages (caller audio) at DEBUG: never below INFO.
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    return handler


AUDIO_LOGGERS = ("azure.ai.voicelive", "openai._websocket_connection")
"""SDK loggers that would print audio payloads at DEBUG."""


@contextlib.contextmanager
def call_context(call_id: str) -> Iterator[None]:
    """Set :data:`call_id_var` for the enclosed code (and tasks it starts)."""
    token = call_id_var.set(call_id)
    try:
        yield
    finally:
        call_id_var.reset(token)
