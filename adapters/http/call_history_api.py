"""The operator API over durable call records (operator key required, as every operator route).

=================================  ===========================================================
``GET /api/calls``                  headers, newest first; filters ``from``, ``to`` (ISO 8601
                                    or Unix epoch ms), ``agent``, ``outcome``, ``caller``;
                                    ``limit`` (1..1000, default 50), ``offset``
``GET /api/calls/{id}``             the whole record: header, transcript lines, tool calls,
                                    handoffs, latencies, recordings, summary
``DELETE /api/calls/{id}``          erase the record and its recordings (data protection)
``GET /api/calls/{id}/recording``   Parley's own WAV of the call (404 when there is none)
=================================  ===========================================================

Errors: 400 ``{"error": "bad_request", "detail": ...}`` naming the bad parameter, 404
``{"error": "not_found"}``, 503 ``{"error": "store_unavailable"}`` while the database is down.
JSON shapes: :func:`header_json` and :func:`record_json` (``docs/call-records.md``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.http.operator_auth import operator_denied
from ports import StoreError
from ports.call_history import CallHeader, CallHistory, CallQuery, CallRecord, DeletedCall

__all__ = ["call_history_routes", "header_json", "parse_time_ms", "query_from", "record_json"]

_NO_CACHE = {"Cache-Control": "no-store"}


def header_json(header: CallHeader) -> dict[str, Any]:
    """A header as JSON (field names as in :class:`~ports.call_history.CallHeader`)."""
    out = dataclasses.asdict(header)
    out["agents"] = list(header.agents)
    return out


def record_json(record: CallRecord) -> dict[str, Any]:
    """A record as JSON.

    Keys: ``header``, ``lines``, the views ``tool_calls``, ``tool_results``, ``handoffs`` and
    ``latencies`` (subsets of ``lines``), ``recordings`` and ``summary`` (or null).
    """

    def lines(items: Any) -> list[dict[str, Any]]:
        return [dataclasses.asdict(line) for line in items]

    return {
        "header": header_json(record.header),
        "lines": lines(record.timeline()),
        "tool_calls": lines(record.lines_of("tool_call")),
        "tool_results": lines(record.lines_of("tool")),
        "handoffs": lines(record.handoffs()),
        "latencies": lines(record.lines_of("turn_latency")),
        "recordings": [dataclasses.asdict(r) for r in record.recordings],
        "summary": dataclasses.asdict(record.summary) if record.summary else None,
    }


def parse_time_ms(value: str) -> int:
    """Unix epoch ms from ``value``: an integer (ms) or an ISO 8601 time (UTC if no zone).

    Raises:
        ValueError: Neither.
    """
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def query_from(params: Any, caller_key: Callable[[str], str] = lambda c: c) -> CallQuery:
    """A :class:`CallQuery` from query parameters.

    Parameters: ``from``, ``to``, ``agent``, ``outcome``, ``caller``, ``limit``, ``offset``;
    the caller goes through ``caller_key`` (the privacy policy) so it matches what is stored.

    Raises:
        ValueError: A parameter is invalid; the message names it.
    """

    def get(name: str) -> str | None:
        value = params.get(name)
        return value if value not in (None, "") else None

    try:
        started_from = parse_time_ms(v) if (v := get("from")) else None
        started_before = parse_time_ms(v) if (v := get("to")) else None
    except ValueError as exc:
        raise ValueError("from/to: an ISO 8601 time or Unix epoch ms") from exc
    try:
        limit = int(get("limit") or 50)
        offset = int(get("offset") or 0)
    except ValueError as exc:
        raise ValueError("limit/offset: integers") from exc
    caller = get("caller")
    try:
        return CallQuery(
            started_from_ms=started_from,
            started_before_ms=started_before,
            agent=get("agent"),
            outcome=get("outcome"),
            caller=caller_key(caller) if caller else None,
            limit=limit,
            offset=offset,
        )
    except ValueError as exc:
        raise ValueError(str(exc).replace("CallQuery.", "")) from exc


def call_history_routes(
    history: CallHistory,
    operator_key: str | None,
    *,
    caller_key: Callable[[str], str] = lambda c: c,
    erase: Callable[[str], Awaitable[DeletedCall | None]] | None = None,
    recordings_dir: Path | None = None,
    timeout_s: float = 10.0,
) -> list[BaseRoute]:
    """The routes of the table above.

    Args:
        history: The call history.
        operator_key: ``PARLEY_OPERATOR_KEY`` (None/empty: 503, as every operator route).
        caller_key: Turns a caller number into its stored form (masking or hashing).
        erase: Deletes a record and its recordings (``RecordsKeeper.erase``); default: the
            history's ``delete`` (files stay).
        recordings_dir: The own recordings' folder; a file elsewhere is never served.
        timeout_s: Deadline of each request's database work.
    """
    delete = erase or history.delete

    def servable(path: Path) -> bool:
        inside = recordings_dir is None or path.resolve().parent == recordings_dir.resolve()
        return inside and path.is_file()

    async def guarded(request: Request, work: Callable[[], Awaitable[Response]]) -> Response:
        denied = operator_denied(request, operator_key)
        if denied is not None:
            return denied
        try:
            async with asyncio.timeout(timeout_s):
                return await work()
        except (StoreError, TimeoutError):
            return JSONResponse({"error": "store_unavailable"}, status_code=503)

    async def list_calls(request: Request) -> Response:
        async def work() -> Response:
            try:
                query = query_from(request.query_params, caller_key)
            except ValueError as exc:
                return JSONResponse({"error": "bad_request", "detail": str(exc)}, 400)
            headers = await history.find(query)
            return JSONResponse(
                {
                    "calls": [header_json(h) for h in headers],
                    "limit": query.limit,
                    "offset": query.offset,
                },
                headers=_NO_CACHE,
            )

        return await guarded(request, work)

    async def get_call(request: Request) -> Response:
        async def work() -> Response:
            record = await history.get(request.path_params["call_id"])
            if record is None:
                return JSONResponse({"error": "not_found"}, status_code=404)
            return JSONResponse(record_json(record), headers=_NO_CACHE)

        return await guarded(request, work)

    async def delete_call(request: Request) -> Response:
        async def work() -> Response:
            gone = await delete(request.path_params["call_id"])
            if gone is None:
                return JSONResponse({"error": "not_found"}, status_code=404)
            return Response(status_code=204)

        return await guarded(request, work)

    async def recording(request: Request) -> Response:
        async def work() -> Response:
            record = await history.get(request.path_params["call_id"])
            wav = next(
                (
                    r
                    for r in (record.recordings if record else ())
                    if r.kind == "wav" and r.state == "available"
                ),
                None,
            )
            if wav is None or not await asyncio.to_thread(servable, Path(wav.location)):
                return JSONResponse({"error": "not_found"}, status_code=404)
            return FileResponse(wav.location, media_type="audio/wav", headers=_NO_CACHE)

        return await guarded(request, work)

    return [
        Route("/api/calls", list_calls, methods=["GET"]),
        Route("/api/calls/{call_id}", get_call, methods=["GET"]),
        Route("/api/calls/{call_id}", delete_call, methods=["DELETE"]),
        Route("/api/calls/{call_id}/recording", recording, methods=["GET"]),
    ]
