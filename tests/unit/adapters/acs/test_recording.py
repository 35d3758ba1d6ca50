"""ACS Call Recording through the real SDK and the emulator: start, state callbacks, stop,
the file notification, deletion, and the endpoints' refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from azure.core.credentials import AzureKeyCredential
from starlette.applications import Starlette

from adapters.acs.auth import AcsAuthConfig, AcsTokenValidator
from adapters.acs.call_control import build_call_automation_client
from adapters.acs.recording import AcsCallRecording, RecordingTokens
from adapters.acs.recording_events import RecordingEndpoints
from adapters.acs_emulator.server import free_port
from adapters.acs_emulator.serving import serve_app
from adapters.memory.call_history import MemoryCallHistory
from ports import CallNotFoundError, ProviderError
from ports.call_history import CallHeader, RecordingRef
from tests.unit.adapters.acs.conftest import FAST_RETRY, AcsStack


@dataclass
class RecordingStack:
    acs: AcsStack
    recording: AcsCallRecording
    history: MemoryCallHistory
    tokens: RecordingTokens
    base: str


@pytest.fixture
async def stack(acs_stack: AcsStack) -> AsyncIterator[RecordingStack]:
    emulator = acs_stack.emulator
    history = MemoryCallHistory()
    tokens = RecordingTokens()
    endpoints = RecordingEndpoints(
        history,
        tokens=tokens,
        validator=AcsTokenValidator(
            AcsAuthConfig(audience=emulator.resource_id, jwks_url=emulator.jwks_url)
        ),
    )
    port = free_port()
    client = build_call_automation_client(
        emulator.endpoint, AzureKeyCredential(emulator.access_key)
    )
    base = f"http://127.0.0.1:{port}"
    recording = AcsCallRecording(client, public_base_url=base, tokens=tokens, retry=FAST_RETRY)
    emulator.recording.events_url = f"{base}/api/acs/recording-events"
    try:
        async with serve_app(Starlette(routes=endpoints.routes()), port=port):
            yield RecordingStack(acs_stack, recording, history, tokens, base)
    finally:
        await client.close()


async def recording_of(
    history: MemoryCallHistory, call_id: str, state: str, *, server_call: bool = False
) -> RecordingRef:
    for _ in range(200):
        record = await history.get(call_id)
        found = [
            r
            for r in (record.recordings if record else ())
            if r.state == state and (r.server_call_id or not server_call)
        ]
        if found:
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {state} recording of {call_id}")


async def test_a_recording_goes_active_then_available_with_its_file_location(
    stack: RecordingStack,
) -> None:
    call = await stack.acs.emulator.offer_call(stack.acs.events_url)
    call_id = call.call_connection_id
    await stack.history.save_call(CallHeader(call_id, 0))
    started = await stack.recording.start(call_id)
    await stack.history.save_recording(call_id, started)
    emulated = stack.acs.emulator.recording.recordings[started.recording_id]
    assert emulated.request["callConnectionId"] == call_id
    assert emulated.request["recordingContentType"] == "audio"
    assert emulated.request["recordingFormatType"] == "wav"

    # The state callback (JWT and per-call token checked) names the server call.
    active = await recording_of(stack.history, call_id, "active", server_call=True)
    assert active.server_call_id == call.server_call_id
    await stack.recording.stop(started.recording_id)
    available = await recording_of(stack.history, call_id, "available")
    assert available.location.endswith(f"/recordings/{started.recording_id}/content")
    assert available.data["deleteLocation"] and available.format == "wav"
    async with httpx.AsyncClient() as http:
        content = await http.get(available.location)
    assert content.status_code == 200 and content.content[:4] == b"RIFF"

    with pytest.raises(CallNotFoundError):
        await stack.recording.stop(started.recording_id)
    # The SDK sends credentials only to ACS recording hosts: the emulator's URL is refused.
    with pytest.raises(ProviderError, match="not an ACS recording location"):
        await stack.recording.delete(available)
    assert not emulated.deleted


async def test_a_state_callback_for_another_call_or_without_acs_jwt_is_refused(
    stack: RecordingStack,
) -> None:
    event = [
        {
            "id": "1",
            "source": "x",
            "type": "Microsoft.Communication.RecordingStateChanged",
            "specversion": "1.0",
            "data": {"callConnectionId": "victim", "recordingId": "r", "state": "inactive"},
        }
    ]
    url = f"{stack.base}/api/acs/recording-callbacks"
    token = stack.tokens.issue("mine")
    jwt = stack.acs.emulator.mint_token()
    async with httpx.AsyncClient() as http:
        no_jwt = await http.post(f"{url}?call=victim&recording_token=x", json=event)
        wrong = await http.post(
            f"{url}?call=victim&recording_token={token}",
            json=event,
            headers={"Authorization": f"Bearer {jwt}"},
        )
        mismatch = await http.post(
            f"{url}?call=mine&recording_token={token}",
            json=event,
            headers={"Authorization": f"Bearer {jwt}"},
        )
    assert (no_jwt.status_code, wrong.status_code, mismatch.status_code) == (401, 403, 200)
    assert await stack.history.get("victim") is None and await stack.history.get("mine") is None


async def test_a_file_event_of_an_unknown_recording_asks_event_grid_to_retry(
    stack: RecordingStack,
) -> None:
    event = {
        "id": "1",
        "eventType": "Microsoft.Communication.RecordingFileStatusUpdated",
        "subject": "/recording/call/c/serverCallId/unknown",
        "data": {"recordingStorageInfo": {"recordingChunks": [{"contentLocation": "http://x"}]}},
    }
    validation = {
        "id": "2",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "data": {"validationCode": "abc"},
    }
    async with httpx.AsyncClient() as http:
        unknown = await http.post(f"{stack.base}/api/acs/recording-events", json=[event])
        handshake = await http.post(f"{stack.base}/api/acs/recording-events", json=[validation])
    assert unknown.status_code == 503
    assert handshake.json() == {"validationResponse": "abc"}
