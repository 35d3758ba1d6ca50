"""The emulator's Call Recording: the REST operations, their callbacks and the file event.

Speaks what ACS speaks to the real SDK ("Call Recording overview",
https://learn.microsoft.com/azure/communication-services/concepts/voice-video-calling/call-recording):

* ``POST /calling/recordings`` (``StartCallRecordingRequest``: ``callConnectionId`` or
  ``callLocator.serverCallId``, ``recordingStateCallbackUri``, content/channel/format) ->
  ``200 {"recordingId", "recordingState", "recordingKind"}``, then a CloudEvent
  ``Microsoft.Communication.RecordingStateChanged`` (``state: active``) to the state callback
  URI (the call's callback URI when none was given);
* ``GET /calling/recordings/{id}`` -> the recording's state; ``DELETE`` stops it (204; 404 when
  it is not active); ``POST {id}:pause`` / ``{id}:resume`` -> 202;
* on stop, and when the call ends with a recording active: ``RecordingStateChanged``
  (``inactive``), then an Event Grid ``Microsoft.Communication.RecordingFileStatusUpdated``
  (subject ``/recording/call/{callId}/serverCallId/{serverCallId}``) posted to
  :attr:`RecordingService.events_url`, retried while it answers 5xx;
* the file: ``GET /recordings/{id}/content`` (a WAV of the agent audio the emulated caller
  heard), ``GET /recordings/{id}/metadata`` and ``DELETE /recordings/{id}`` (delete location).

Every REST operation is HMAC-checked like the rest of the emulator.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import uuid
import wave
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from adapters.acs_emulator.server import AcsEmulator, EmulatedCall


@dataclass(slots=True)
class EmulatedRecording:
    """One recording as the emulator sees it.

    Attributes:
        recording_id: ACS recording id.
        call: The call recorded.
        callback_uri: Where state changes go.
        request: The start request body.
        state: ``active`` or ``inactive``.
        callbacks: ``(state, HTTP status)`` of each state callback posted.
        file_events: HTTP status of each file notification try.
        deleted: The file was deleted through its delete location.
    """

    recording_id: str
    call: EmulatedCall
    callback_uri: str
    request: dict[str, Any]
    state: str = "active"
    callbacks: list[tuple[str, int]] = field(default_factory=list)
    file_events: list[int] = field(default_factory=list)
    deleted: bool = False


class RecordingService:
    """Call Recording for an :class:`~adapters.acs_emulator.server.AcsEmulator`.

    Args:
        emulator: The emulator (its HMAC check, signer, HTTP client and tasks are used).

    Attributes:
        events_url: The Event Grid endpoint of ``RecordingFileStatusUpdated`` (None: derived
            from the ``IncomingCall`` webhook the emulator last offered a call to, with
            ``/api/acs/events`` replaced by ``/api/acs/recording-events``).
        recordings: Every recording, by id.
    """

    def __init__(self, emulator: AcsEmulator) -> None:
        self._emulator = emulator
        self.events_url: str | None = None
        self.recordings: dict[str, EmulatedRecording] = {}

    def routes(self) -> list[Route]:
        """The REST and file routes."""
        return [
            Route("/calling/recordings", self._start, methods=["POST"]),
            Route("/calling/recordings/{op}", self._op, methods=["GET", "DELETE", "POST"]),
            Route("/recordings/{rid}/content", self._content, methods=["GET"]),
            Route("/recordings/{rid}/metadata", self._metadata, methods=["GET"]),
            Route("/recordings/{rid}", self._delete_file, methods=["DELETE"]),
        ]

    def of_call(self, call: EmulatedCall) -> list[EmulatedRecording]:
        """The call's recordings, in start order."""
        return [r for r in self.recordings.values() if r.call is call]

    async def _start(self, request: Request) -> Response:
        error, body = await self._emulator._check(request)  # noqa: SLF001 (same package)
        if error is not None:
            return error
        call_id = str(body.get("callConnectionId") or "")
        locator = body.get("callLocator") or {}
        call = self._emulator.calls.get(call_id) or next(
            (
                c
                for c in self._emulator.calls.values()
                if locator and c.server_call_id == locator.get("serverCallId")
            ),
            None,
        )
        if call is None or call.ended.is_set():
            return _error(404, "call not found")
        recording = EmulatedRecording(
            recording_id=base64_id(),
            call=call,
            callback_uri=str(body.get("recordingStateCallbackUri") or call.callback_uri),
            request=body,
        )
        self.recordings[recording.recording_id] = recording
        self._emulator._spawn(  # noqa: SLF001 (same package)
            self._state_changed(recording), "acs-emulator-recording-started"
        )
        return JSONResponse(self._properties(recording), status_code=200)

    def _properties(self, recording: EmulatedRecording) -> dict[str, Any]:
        return {
            "recordingId": recording.recording_id,
            "recordingState": recording.state,
            "recordingKind": "AzureCommunicationServices",
        }

    async def _op(self, request: Request) -> Response:
        error, _ = await self._emulator._check(request)  # noqa: SLF001 (same package)
        if error is not None:
            return error
        rid, _, action = request.path_params["op"].partition(":")
        recording = self.recordings.get(rid)
        if recording is None:
            return _error(404, "recording not found")
        if request.method == "GET" and not action:
            return JSONResponse(self._properties(recording))
        if request.method == "DELETE" and not action:
            if recording.state != "active":
                return _error(404, "recording is not active")
            await self.stop(recording)
            return Response(status_code=204)
        if action in ("pause", "resume"):
            return Response(status_code=202)
        return _error(400, f"unsupported operation {action!r}")

    async def stop(self, recording: EmulatedRecording) -> None:
        """Stop ``recording``: ``inactive`` callback, then the file notification (background)."""
        recording.state = "inactive"
        self._emulator._spawn(  # noqa: SLF001 (same package)
            self._finish(recording), "acs-emulator-recording-stopped"
        )

    async def call_ended(self, call: EmulatedCall) -> None:
        """ACS stops a call's active recordings when the call ends."""
        for recording in self.of_call(call):
            if recording.state == "active":
                await self.stop(recording)

    async def _state_changed(self, recording: EmulatedRecording) -> None:
        call = recording.call
        status = await self._emulator.post_callback(
            call,
            "RecordingStateChanged",
            extra={
                "recordingId": recording.recording_id,
                "state": recording.state,
                "startDateTime": _iso_now(),
                "recordingKind": "AzureCommunicationServices",
            },
            uri=recording.callback_uri,
        )
        recording.callbacks.append((recording.state, status))

    async def _finish(self, recording: EmulatedRecording) -> None:
        await self._state_changed(recording)
        await self._post_file_event(recording)

    async def _post_file_event(self, recording: EmulatedRecording) -> None:
        url = self.events_url
        http = self._emulator._http  # noqa: SLF001 (same package)
        if not url or http is None:
            return
        call = recording.call
        base = f"{self._emulator.endpoint}/recordings/{recording.recording_id}"
        event = {
            "id": str(uuid.uuid4()),
            "topic": "/subscriptions/emulated/resourceGroups/emulated/providers/"
            "Microsoft.Communication/communicationServices/emulated",
            "subject": f"/recording/call/{call.correlation_id}/serverCallId/{call.server_call_id}",
            "data": {
                "recordingStorageInfo": {
                    "recordingChunks": [
                        {
                            "documentId": recording.recording_id,
                            "index": 0,
                            "endReason": "SessionEnded",
                            "contentLocation": f"{base}/content",
                            "metadataLocation": f"{base}/metadata",
                            "deleteLocation": base,
                        }
                    ]
                },
                "recordingStartTime": _iso_now(),
                "recordingDurationMs": round(self._agent_ms(call)),
                "sessionEndReason": "CallEnded",
            },
            "eventType": "Microsoft.Communication.RecordingFileStatusUpdated",
            "dataVersion": "1.0",
            "metadataVersion": "1",
            "eventTime": _iso_now(),
        }
        headers = {"aeg-event-type": "Notification", "content-type": "application/json"}
        for attempt in range(6):
            try:
                response = await http.post(url, json=[event], headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            recording.file_events.append(status)
            if 200 <= status < 300:
                return
            await asyncio.sleep(0.1 * 2**attempt)

    def _agent_ms(self, call: EmulatedCall) -> float:
        media = call.media
        if media is None:
            return 0.0
        return media.format.duration_ms(len(media.playout.recording()))

    async def _content(self, request: Request) -> Response:
        recording = self.recordings.get(request.path_params["rid"])
        if recording is None or recording.deleted:
            return _error(404, "recording not found")
        media = recording.call.media
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(recording.call.format.sample_rate_hz)
            wav.writeframes(media.playout.recording() if media is not None else b"")
        return Response(out.getvalue(), media_type="audio/wav")

    async def _metadata(self, request: Request) -> Response:
        recording = self.recordings.get(request.path_params["rid"])
        if recording is None or recording.deleted:
            return _error(404, "recording not found")
        call = recording.call
        return JSONResponse(
            {
                "callId": call.correlation_id,
                "chunkDocumentId": recording.recording_id,
                "chunkIndex": 0,
                "recordingInfo": {
                    "contentType": "audio",
                    "channelType": "mixed",
                    "format": "wav",
                    "audioConfiguration": {
                        "sampleRate": call.format.sample_rate_hz,
                        "channels": 1,
                    },
                },
                "participants": [{"participantId": call.caller_raw_id}],
            }
        )

    async def _delete_file(self, request: Request) -> Response:
        error, _ = await self._emulator._check(request)  # noqa: SLF001 (same package)
        if error is not None:
            return error
        recording = self.recordings.get(request.path_params["rid"])
        if recording is None or recording.deleted:
            return _error(404, "recording not found")
        recording.deleted = True
        return Response(status_code=200)


def base64_id() -> str:
    """An ACS-style opaque recording id."""
    return secrets.token_urlsafe(48)


def _iso_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "NotFound", "message": message}}, status_code=status)
