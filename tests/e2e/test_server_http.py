"""The HTTP endpoints through Starlette's TestClient: health, readiness, metrics, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from dependency_injector import providers
from starlette.testclient import TestClient

from adapters.http import PrometheusCallMetrics
from bootstrap.app import create_app
from bootstrap.settings import all_env_keys
from ports import LatencyStage, ProviderUnavailableError
from tests.e2e.server_support import fake_container, fake_settings


@pytest.fixture
def env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in all_env_keys():
        monkeypatch.delenv(key, raising=False)
    return tmp_path / ".env"


class UnreachableModel:
    """A language model whose readiness probe says the endpoint is down."""

    async def health_check(self) -> None:
        raise ProviderUnavailableError("endpoint unreachable", port="language_model")


class HangingSpeech:
    """A speech-to-text whose probe never answers."""

    async def health_check(self) -> None:
        await asyncio.sleep(60)


def test_health_answers_while_the_process_serves(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_the_store_and_passes_on_the_default(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with TestClient(app) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checked"] == ["store", "call_records"]


def test_ready_names_the_failing_and_the_silent_adapter(env_file: Path) -> None:
    container = fake_container(fake_settings({"PARLEY_READY_TIMEOUT_S": "0.2"}, env_file))
    container.adapters.llm.override(providers.Object(UnreachableModel()))
    container.adapters.stt.override(providers.Object(HangingSpeech()))
    with TestClient(create_app(container)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert "language_model: unavailable: endpoint unreachable" in body["failed"]
    assert "speech_to_text: no answer within 0.2 s" in body["failed"]
    assert not any(f.startswith("store") for f in body["failed"])


def test_metrics_export_every_series_in_prometheus_text(env_file: Path) -> None:
    container = fake_container(fake_settings({}, env_file))
    app = create_app(container)
    metrics: PrometheusCallMetrics = container.adapters.metrics()
    metrics.call_started()
    metrics.frame_in()
    metrics.frame_out()
    metrics.frame_dropped("bad_base64")
    metrics.barge_in()
    metrics.false_interruption()
    metrics.latency(LatencyStage.VOICE_TO_VOICE, 640.0)
    metrics.provider_error("speech_to_text", "timeout")
    with TestClient(app) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        "parley_active_calls 1.0",
        "parley_frames_in_total 1.0",
        "parley_frames_out_total 1.0",
        'parley_frames_dropped_total{reason="bad_base64"} 1.0',
        "parley_barge_ins_total 1.0",
        "parley_false_interruptions_total 1.0",
        'parley_latency_seconds_bucket{le="0.75",stage="voice_to_voice"} 1.0',
        'parley_latency_seconds_count{stage="time_to_first_token"} 0.0',
        'parley_provider_errors_total{code="timeout",port="speech_to_text"} 1.0',
    ):
        assert line in text, line


def test_two_apps_in_one_process_keep_separate_metrics(env_file: Path) -> None:
    first = fake_container(fake_settings({}, env_file))
    second = fake_container(fake_settings({}, env_file))
    create_app(first)
    create_app(second)
    first.adapters.metrics().barge_in()
    with TestClient(create_app(second)) as client:
        assert "parley_barge_ins_total 0.0" in client.get("/metrics").text


def test_request_bodies_over_the_limit_get_413(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({"PARLEY_MAX_REQUEST_BYTES": "2048"}, env_file)))
    with TestClient(app) as client:
        declared = client.post("/api/acs/events", content=b"x" * 4096)

        def chunks():  # no Content-Length: the limit counts the stream
            for _ in range(8):
                yield b"y" * 512

        streamed = client.post("/api/acs/callbacks", content=chunks())
        small = client.post("/api/acs/events", content=b"[]")
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert "2048" in declared.text
    assert small.status_code == 503  # the ACS placeholder, not the limit


def test_acs_placeholders_say_acs_is_not_configured(env_file: Path) -> None:
    app = create_app(fake_container(fake_settings({}, env_file)))
    with TestClient(app) as client:
        response = client.post("/api/acs/callbacks", json=[])
        with client.websocket_connect("/ws/acs/media") as ws:
            message = ws.receive()
    assert response.status_code == 503
    assert response.json()["error"] == "acs_not_configured"
    assert message["type"] == "websocket.close"
    assert message["code"] == 1013


def test_a_bad_agent_file_fails_the_start_naming_file_and_field(
    env_file: Path, tmp_path: Path
) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "a.yaml").write_text("greeting: [not, a, string]\n")
    app = create_app(fake_container(fake_settings({"PARLEY_AGENTS_DIR": str(agents)}, env_file)))
    with pytest.raises(Exception, match=r"a\.yaml: greeting"), TestClient(app):
        pass
