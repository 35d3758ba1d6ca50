"""``POST /api/calls`` and the outbound results: the operator API of the outbound dialer.

* ``POST /api/calls``: one call (``{"to": "+14255550123", "agent": "concierge", "variables":
  {"name": "Ana"}, "caller_id": "+14255550100", "at": "2026-12-08T09:00:00Z"}``) or a batch
  (``{"calls": [...]}``, at most :data:`MAX_BATCH`). Validated with pydantic (E.164 numbers, a
  known agent, at most 32 string variables, a timezone-aware ``at``); queued whole or refused
  whole: 202 ``{"calls": [result, ...]}``, 422 ``{"error": "invalid_request", "problems":
  [...]}``, 429 ``{"error": "queue_full", "free": N}`` (with ``Retry-After``), 503
  ``{"error": "outbound_disabled"}`` without a telephony provider.
* ``GET /api/outbound-calls`` (most recent first, ``?limit=``) and
  ``GET /api/outbound-calls/{id}``: results per number (``adapters.outbound.DialResult``).

Every route needs the operator key (``Authorization: Bearer``,
:mod:`adapters.http.operator_auth`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.http.operator_auth import operator_denied
from adapters.outbound import Dialer, DialRequest, QueueFullError

CALLS_PATH = "/api/calls"
RESULTS_PATH = "/api/outbound-calls"
MAX_BATCH = 1000
"""Most calls in one ``POST /api/calls``."""
MAX_BODY_BYTES = 1024 * 1024

E164 = r"^\+[1-9][0-9]{6,14}$"
Number = Annotated[str, StringConstraints(pattern=E164)]
VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class CallRequestBody(BaseModel):
    """One call to place."""

    model_config = ConfigDict(extra="forbid")
    to: Number
    agent: str = Field(default="", max_length=48)
    variables: dict[VariableName, Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=dict, max_length=32
    )
    caller_id: Number | None = None
    at: AwareDatetime | None = None

    @field_validator("variables", mode="before")
    @classmethod
    def _scalars_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: _text(item) for key, item in value.items()}
        return value


def _text(value: Any) -> Any:
    """A number or boolean as template text; anything else as given (validated later)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class CallBatchBody(BaseModel):
    """Several calls to place."""

    model_config = ConfigDict(extra="forbid")
    calls: list[CallRequestBody] = Field(min_length=1, max_length=MAX_BATCH)


def _problems(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in error.get('loc', ())) or 'body'}: {error.get('msg', '')}"
        for error in exc.errors()
    ]


def _request(body: CallRequestBody) -> DialRequest:
    at: datetime | None = body.at
    return DialRequest(
        id=uuid.uuid4().hex,
        to=body.to,
        agent=body.agent,
        variables=tuple(sorted(body.variables.items())),
        caller_id=body.caller_id or "",
        at=at,
    )


def outbound_routes(
    dialer: Callable[[], Dialer | None],
    operator_key: str | None,
    agents: Callable[[], Collection[str]],
) -> list[BaseRoute]:
    """The routes, over the process's dialer (None: no telephony, 503).

    Args:
        dialer: The dialer, looked up per request (built once the adapters are open).
        operator_key: ``PARLEY_OPERATOR_KEY``; empty disables the routes (503).
        agents: Agent names a call may start with.
    """

    async def place(request: Request) -> Response:
        denied = operator_denied(request, operator_key)
        if denied is not None:
            return denied
        current = dialer()
        if current is None:
            return JSONResponse(
                {"error": "outbound_disabled", "detail": "no telephony provider is configured"},
                status_code=503,
            )
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            data = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        try:
            if isinstance(data, dict) and "calls" in data:
                bodies = CallBatchBody.model_validate(data).calls
            else:
                bodies = [CallRequestBody.model_validate(data)]
        except ValidationError as exc:
            return JSONResponse(
                {"error": "invalid_request", "problems": _problems(exc)}, status_code=422
            )
        known = set(agents())
        unknown = sorted({b.agent for b in bodies if b.agent and b.agent not in known})
        if unknown:
            return JSONResponse(
                {
                    "error": "invalid_request",
                    "problems": [f"agent: unknown agent {name!r}" for name in unknown],
                },
                status_code=422,
            )
        try:
            queued = current.submit([_request(b) for b in bodies])
        except QueueFullError as exc:
            return JSONResponse(
                {"error": "queue_full", "free": exc.free},
                status_code=429,
                headers={"Retry-After": "5"},
            )
        return JSONResponse({"calls": [r.to_json() for r in queued]}, status_code=202)

    async def results(request: Request) -> Response:
        denied = operator_denied(request, operator_key)
        if denied is not None:
            return denied
        current = dialer()
        if current is None:
            return JSONResponse({"error": "outbound_disabled"}, status_code=503)
        try:
            limit = max(1, min(1000, int(request.query_params.get("limit", "100"))))
        except ValueError:
            return JSONResponse({"error": "limit must be a number"}, status_code=400)
        return JSONResponse(
            {
                "calls": [r.to_json() for r in current.results(limit)],
                "waiting": current.waiting,
                "in_progress": current.in_progress,
                "outcomes": dict(current.counts),
            }
        )

    async def one(request: Request) -> Response:
        denied = operator_denied(request, operator_key)
        if denied is not None:
            return denied
        current = dialer()
        result = current.result(request.path_params["dial_id"]) if current is not None else None
        if result is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(result.to_json())

    return [
        Route(CALLS_PATH, place, methods=["POST"]),
        Route(RESULTS_PATH, results, methods=["GET"]),
        Route(RESULTS_PATH + "/{dial_id}", one, methods=["GET"]),
    ]
