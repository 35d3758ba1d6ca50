"""The app factory's one-step lifespan: routes are built over the opened adapters."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from adapters.memory import FakeCallControl, FakeSpeechToText, FakeTextToSpeech, FakeVadFactory
from bootstrap.app import ServingSlot, create_app
from bootstrap.containers import build_container
from bootstrap.settings import load_settings

REPO = Path(__file__).resolve().parents[3]

INCOMING_CALL = [
    {
        "id": "e1",
        "eventType": "Microsoft.Communication.IncomingCall",
        "data": {
            "to": {"kind": "phoneNumber", "rawId": "4:+1200", "phoneNumber": {"value": "+1200"}},
            "from": {"kind": "phoneNumber", "rawId": "4:+1100", "phoneNumber": {"value": "+1100"}},
            "incomingCallContext": "ctx",
            "correlationId": "corr",
        },
    }
]


def test_the_slot_answers_503_and_closes_sockets_until_an_app_is_mounted() -> None:
    client = TestClient(ServingSlot())
    response = client.get("/health")
    assert (response.status_code, response.json()["error"]) == (503, "not_ready")
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws/browser"):
        pass
    assert info.value.code == 1013


def test_acs_routes_are_built_over_the_opened_call_control(clean_env: Path) -> None:
    clean_env.write_text(
        "PARLEY_STT=fake\nPARLEY_TTS=fake\nPARLEY_VAD=fake\nPARLEY_LLM=fake\n"
        f"PARLEY_AGENTS_DIR={REPO / 'agents'}\nPARLEY_LOG_LEVEL=WARNING\n"
        "ACS_CONNECTION_STRING=endpoint=http://127.0.0.1:9;accesskey=a2V5\n"
        "ACS_VERIFY_TOKENS=false\n"
    )
    container = build_container(load_settings(clean_env))
    control = FakeCallControl()
    container.adapters.call_control.override(providers.Object(control))
    container.adapters.stt.override(providers.Object(FakeSpeechToText()))
    container.adapters.tts.override(providers.Object(FakeTextToSpeech()))
    container.adapters.vad_factory.override(providers.Object(FakeVadFactory()))
    app = create_app(container)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        answered = client.post("/api/acs/events", json=INCOMING_CALL)
        assert answered.status_code == 200
        assert [op.name for op in control.operations] == ["answer"]
    # After shutdown the slot is empty again.
    assert TestClient(app).get("/health").status_code == 503


def test_without_acs_the_placeholders_answer_503(clean_env: Path) -> None:
    clean_env.write_text(
        "PARLEY_STT=fake\nPARLEY_TTS=fake\nPARLEY_VAD=fake\nPARLEY_LLM=fake\n"
        f"PARLEY_AGENTS_DIR={REPO / 'agents'}\nPARLEY_LOG_LEVEL=WARNING\n"
    )
    container = build_container(load_settings(clean_env))
    with TestClient(create_app(container)) as client:
        refused = client.post("/api/acs/events", json=INCOMING_CALL)
        assert (refused.status_code, refused.json()["error"]) == (503, "acs_not_configured")
