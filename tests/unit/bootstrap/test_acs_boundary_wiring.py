"""ACS boundary wiring (issue 12): the open-webhook warning, call token keys, --server key."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.acs.call_tokens import CallTokens
from adapters.memory import FakeCallControl
from bootstrap.acs import build_acs_gateway, call_token_key
from bootstrap.call_command import CallStack
from bootstrap.settings import AcsSettings, load_settings
from ports import CallSummary, InboundCall

CONNECTION = "endpoint=http://127.0.0.1:9/;accesskey=a2V5LW9uZQ=="


class NoCalls:
    async def handle_call(self, call: InboundCall) -> CallSummary:
        raise AssertionError("unused")


def acs(**values: object) -> AcsSettings:
    return AcsSettings(_env_file=None, **values)  # type: ignore[call-arg]


def gateway_for(settings: AcsSettings) -> Any:
    return build_acs_gateway(
        settings,
        call_control=FakeCallControl(),
        handler=NoCalls(),
        metrics=None,
        public_base_url="http://127.0.0.1:8000",
    )


def test_an_empty_webhook_key_warns_loudly_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        gateway_for(acs(verify_tokens=False))
    assert "ACS_WEBHOOK_KEY is empty" in caplog.text


def test_a_webhook_key_silences_the_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        gateway_for(acs(verify_tokens=False, webhook_key=SecretStr("k")))
    assert "ACS_WEBHOOK_KEY" not in caplog.text


def test_instances_of_one_deployment_accept_each_others_call_tokens() -> None:
    settings = acs(verify_tokens=False, connection_string=SecretStr(CONNECTION))
    first, second = gateway_for(settings), gateway_for(settings)
    token = first.call_tokens.issue()
    assert second.call_tokens.verify(token)
    key = call_token_key(settings)
    assert key is not None and b"a2V5LW9uZQ" not in key  # derived, never the secret itself
    other = CallTokens(call_token_key(acs(connection_string=SecretStr(CONNECTION + "x"))))
    assert not other.verify(token)


def test_without_a_shared_secret_call_tokens_are_per_process() -> None:
    assert call_token_key(acs()) is None
    assert not gateway_for(acs(verify_tokens=False)).call_tokens.verify(
        gateway_for(acs(verify_tokens=False)).call_tokens.issue()
    )


def test_parley_call_server_sends_the_webhook_key(tmp_path: Any) -> None:
    env = tmp_path / ".env"
    env.write_text("ACS_WEBHOOK_KEY=s3cret/+\n")
    settings = load_settings(env)
    stack = CallStack(
        emulator=None, base_url="http://127.0.0.1:8000/", container=None, settings=settings
    )  # type: ignore[arg-type]
    assert stack.events_url == "http://127.0.0.1:8000/api/acs/events?code=s3cret%2F%2B"
    no_key = load_settings(None)
    assert CallStack(None, "http://h", None, no_key).events_url == "http://h/api/acs/events"  # type: ignore[arg-type]
