"""The ACS recording endpoints: recording state callbacks and the recording file notification.

* ``POST /api/acs/recording-callbacks?call=<id>&recording_token=<t>``: the
  ``recordingStateCallbackUri`` given to ``start_recording``. Call Automation posts
  CloudEvents ``Microsoft.Communication.RecordingStateChanged`` (``recordingId``, ``state``
  ``active``/``inactive``, ``serverCallId``, ``callConnectionId``) there. The request must
  carry ACS's JWT (as every callback) and the token issued for the call it names (403
  otherwise); the recording's state and server call id are written to the call's record.
* ``POST /api/acs/recording-events``: an Event Grid subscription for
  ``Microsoft.Communication.RecordingFileStatusUpdated`` (the validation handshake included;
  ``?code=<ACS_WEBHOOK_KEY>`` when set). The event names the server call in its ``subject``
  (``/recording/call/{callId}/serverCallId/{serverCallId}``) and the file in
  ``recordingStorageInfo.recordingChunks[]`` (``contentLocation``, ``metadataLocation``,
  ``deleteLocation``); the recording made on that server call becomes ``available`` at
  ``contentLocation``. A recording not known yet answers 503, so Event Grid redelivers.

Docs: "Call Recording overview" (Event Grid notifications, notification schema),
https://learn.microsoft.com/azure/communication-services/concepts/voice-video-calling/call-recording;
"Event Grid message delivery and retry", https://learn.microsoft.com/azure/event-grid/delivery-and-retry.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.acs.auth import AcsTokenValidator, TokenRejectedError, bearer_token
from adapters.acs.recording import (
    CALL_PARAM,
    RECORDING_CALLBACKS_PATH,
    RECORDING_EVENTS_PATH,
    TOKEN_PARAM,
    RecordingTokens,
)
from ports import StoreError
from ports.call_history import CallHistory, RecordingKind, RecordingRef, RecordingState

logger = logging.getLogger(__name__)

STATE_CHANGED: Final = "Microsoft.Communication.RecordingStateChanged"
FILE_STATUS_UPDATED: Final = "Microsoft.Communication.RecordingFileStatusUpdated"
VALIDATION_EVENT: Final = "Microsoft.EventGrid.SubscriptionValidationEvent"
_SERVER_CALL: Final = re.compile(r"/serverCallId/([^/]+)")
_MAX_BODY: Final = 256 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class RecordingStateData(_Model):
    """``data`` of ``RecordingStateChanged``."""

    call_connection_id: str = Field(alias="callConnectionId", min_length=1)
    server_call_id: str = Field(default="", alias="serverCallId")
    recording_id: str = Field(alias="recordingId", min_length=1)
    state: str = ""
    start_date_time: str = Field(default="", alias="startDateTime")
    recording_kind: str = Field(default="", alias="recordingKind")


class RecordingChunk(_Model):
    """One ``recordingChunks[]`` entry."""

    document_id: str = Field(default="", alias="documentId")
    index: int = 0
    end_reason: str = Field(default="", alias="endReason")
    content_location: str = Field(alias="contentLocation", min_length=1)
    metadata_location: str = Field(default="", alias="metadataLocation")
    delete_location: str = Field(default="", alias="deleteLocation")


class RecordingStorageInfo(_Model):
    """``recordingStorageInfo``."""

    recording_chunks: list[RecordingChunk] = Field(alias="recordingChunks", min_length=1)


class RecordingFileData(_Model):
    """``data`` of ``RecordingFileStatusUpdated``."""

    recording_storage_info: RecordingStorageInfo = Field(alias="recordingStorageInfo")
    recording_start_time: str = Field(default="", alias="recordingStartTime")
    recording_duration_ms: float = Field(default=0.0, alias="recordingDurationMs")
    session_end_reason: str = Field(default="", alias="sessionEndReason")


class RecordingEndpoints:
    """The two recording endpoints of one app instance.

    Args:
        history: Where recording states and locations are written.
        tokens: Checks each callback's per-call token.
        validator: Checks ACS JWTs on callbacks (None when ``ACS_VERIFY_TOKENS=false``).
        webhook_key: ``ACS_WEBHOOK_KEY`` for the Event Grid endpoint (None: open).
        wall_ms: Unix epoch milliseconds now.
    """

    def __init__(
        self,
        history: CallHistory,
        *,
        tokens: RecordingTokens,
        validator: AcsTokenValidator | None,
        webhook_key: str | None = None,
        wall_ms: Callable[[], float] = lambda: time.time() * 1000.0,
    ) -> None:
        self._history = history
        self._tokens = tokens
        self._validator = validator
        self._webhook_key = webhook_key
        self._wall_ms = wall_ms

    def routes(self) -> list[BaseRoute]:
        """``POST /api/acs/recording-callbacks`` and ``POST /api/acs/recording-events``."""
        return [
            Route(RECORDING_CALLBACKS_PATH, self.handle_callbacks, methods=["POST"]),
            Route(RECORDING_EVENTS_PATH, self.handle_events, methods=["POST"]),
        ]

    async def _body(self, request: Request) -> tuple[list[Any], Response | None]:
        body = await request.body()
        if len(body) > _MAX_BODY:
            return [], JSONResponse({"error": "body too large"}, status_code=413)
        try:
            parsed = json.loads(body)
        except ValueError:
            return [], JSONResponse({"error": "body is not JSON"}, status_code=400)
        return (parsed if isinstance(parsed, list) else [parsed]), None

    async def _existing(self, call_id: str, recording_id: str) -> RecordingRef | None:
        record = await self._history.get(call_id)
        if record is None:
            return None
        return next(
            (
                r
                for r in record.recordings
                if r.kind == RecordingKind.ACS.value and r.recording_id == recording_id
            ),
            None,
        )

    async def handle_callbacks(self, request: Request) -> Response:
        """``RecordingStateChanged`` -> the recording's state in the call's record."""
        if self._validator is not None:
            try:
                await self._validator.validate(bearer_token(request.headers))
            except TokenRejectedError as exc:
                logger.warning("recording callback refused: token %s", exc.reason)
                return JSONResponse({"error": "unauthorized"}, status_code=401)
        call_id = request.query_params.get(CALL_PARAM, "")
        if not self._tokens.verify(call_id, request.query_params.get(TOKEN_PARAM, "")):
            logger.warning("recording callback refused: no recording token for its call")
            return JSONResponse({"error": "unknown_call"}, status_code=403)
        items, error = await self._body(request)
        if error is not None:
            return error
        for item in items:
            if not isinstance(item, dict) or item.get("type") != STATE_CHANGED:
                continue
            try:
                data = RecordingStateData.model_validate(item.get("data") or {})
            except ValidationError as exc:
                logger.warning("RecordingStateChanged ignored: %d shape errors", exc.error_count())
                continue
            if data.call_connection_id != call_id:
                logger.warning("RecordingStateChanged names another call than its URL; ignored")
                continue
            state = data.state.lower()
            if state not in (RecordingState.ACTIVE.value, RecordingState.INACTIVE.value):
                state = RecordingState.ACTIVE.value if state == "started" else state or "inactive"
            try:
                known = await self._existing(call_id, data.recording_id)
                base = known or RecordingRef(RecordingKind.ACS.value, data.recording_id, state)
                if base.state == RecordingState.AVAILABLE.value:
                    continue  # the file is known: a late state change changes nothing
                extra = {
                    "recordingKind": data.recording_kind,
                    "startDateTime": data.start_date_time,
                }
                await self._history.save_recording(
                    call_id,
                    replace(
                        base,
                        state=state,
                        server_call_id=data.server_call_id or base.server_call_id,
                        data={**base.data, **{k: v for k, v in extra.items() if v}},
                        updated_at_ms=int(self._wall_ms()),
                    ),
                )
            except StoreError as exc:
                logger.warning("recording state of call %s not stored: %s", call_id, exc.code)
                return JSONResponse({"error": "store_unavailable"}, status_code=503)
        return Response(status_code=200)

    def _webhook_key_ok(self, request: Request) -> bool:
        expected = self._webhook_key
        if not expected:
            return True
        given = request.query_params.get("code") or request.headers.get("x-parley-webhook-key", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    async def handle_events(self, request: Request) -> Response:
        """Event Grid: validation, ``RecordingFileStatusUpdated`` -> the recording's file."""
        if not self._webhook_key_ok(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        items, error = await self._body(request)
        if error is not None:
            return error
        status = 200
        for item in items:
            if not isinstance(item, dict):
                continue
            kind = item.get("eventType")
            data = item.get("data") or {}
            if kind == VALIDATION_EVENT and isinstance(data, dict):
                code = data.get("validationCode")
                if isinstance(code, str):
                    return JSONResponse({"validationResponse": code})
                return JSONResponse({"error": "no validationCode"}, status_code=400)
            if kind == FILE_STATUS_UPDATED:
                status = max(status, await self._file_ready(str(item.get("subject", "")), data))
        if status >= 500:
            return JSONResponse({"error": "recording not known yet; retry"}, status_code=status)
        return Response(status_code=200)

    async def _file_ready(self, subject: str, data: Any) -> int:
        match = _SERVER_CALL.search(subject)
        try:
            parsed = RecordingFileData.model_validate(data)
        except ValidationError as exc:
            logger.warning("RecordingFileStatusUpdated ignored: %d shape errors", exc.error_count())
            return 200
        if match is None:
            logger.warning("RecordingFileStatusUpdated ignored: no serverCallId in its subject")
            return 200
        try:
            found = await self._history.find_recording(match.group(1))
            if found is None:
                logger.info("recording file of an unknown server call: asking for a retry")
                return 503
            call_id, known = found
            chunks = sorted(parsed.recording_storage_info.recording_chunks, key=lambda c: c.index)
            first = chunks[0]
            await self._history.save_recording(
                call_id,
                replace(
                    known,
                    state=RecordingState.AVAILABLE.value,
                    location=first.content_location,
                    duration_ms=parsed.recording_duration_ms,
                    data={
                        **known.data,
                        "metadataLocation": first.metadata_location,
                        "deleteLocation": first.delete_location,
                        "chunks": [c.content_location for c in chunks],
                        "sessionEndReason": parsed.session_end_reason,
                    },
                    updated_at_ms=int(self._wall_ms()),
                ),
            )
        except StoreError as exc:
            logger.warning("recording file not stored: %s", exc.code)
            return 503
        logger.info("call %s: ACS recording available", call_id)
        return 200
