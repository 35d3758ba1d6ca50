"""Wiring of the ACS adapter from ACS_* settings (bootstrap/acs.py)."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from adapters.memory import FakeCallControl
from bootstrap.acs import (
    acs_configured,
    acs_routes_for,
    build_acs_client,
    build_acs_gateway,
    parse_connection_string,
)
from bootstrap.settings import AcsSettings, SettingsError, load_settings
from ports import CallSummary, InboundCall


class NoCalls:
    async def handle_call(self, call: InboundCall) -> CallSummary:
        raise AssertionError("unused")


def acs(**values: object) -> AcsSettings:
    return AcsSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_connection_string_keeps_an_http_endpoint_for_the_emulator() -> None:
    assert parse_connection_string("endpoint=http://127.0.0.1:5/;accesskey=a2V5") == (
        "http://127.0.0.1:5",
        "a2V5",
    )


def test_a_bad_connection_string_names_the_key_not_the_value() -> None:
    with pytest.raises(SettingsError) as info:
        parse_connection_string("endpoint=https://x;secretish")
    assert "ACS_CONNECTION_STRING" in str(info.value)
    assert "secretish" not in str(info.value)


def test_acs_needs_a_connection_string_or_an_endpoint() -> None:
    assert not acs_configured(acs())
    assert acs_configured(acs(endpoint="https://x.communication.azure.com"))
    with pytest.raises(SettingsError, match="ACS_CONNECTION_STRING or ACS_ENDPOINT"):
        build_acs_client(acs())


async def test_an_access_key_client_is_built_and_closed() -> None:
    client = build_acs_client(
        acs(connection_string=SecretStr("endpoint=http://127.0.0.1:9/;accesskey=a2V5"))
    )
    await client.aclose()


def test_token_checks_need_the_resource_id() -> None:
    with pytest.raises(SettingsError, match="ACS_RESOURCE_ID"):
        build_acs_gateway(
            acs(connection_string=SecretStr("endpoint=http://x;accesskey=a2V5")),
            call_control=FakeCallControl(),
            handler=NoCalls(),
            metrics=None,
            public_base_url="http://127.0.0.1:8000",
        )


def test_switching_token_checks_off_warns_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        gateway = build_acs_gateway(
            acs(verify_tokens=False),
            call_control=FakeCallControl(),
            handler=NoCalls(),
            metrics=None,
            public_base_url="http://127.0.0.1:8000",
        )
    assert "NOT authenticated" in caplog.text and "ACS_VERIFY_TOKENS" in caplog.text
    assert gateway.config.media_base_url == "ws://127.0.0.1:8000"


def test_routes_are_served_only_when_acs_is_configured() -> None:
    settings = load_settings(None)
    assert (
        acs_routes_for(settings, call_control=FakeCallControl(), handler=NoCalls(), metrics=None)
        == ()
    )
    configured = settings.__class__(
        **{
            **{f: getattr(settings, f) for f in settings.__dataclass_fields__},
            "acs": acs(
                connection_string=SecretStr("endpoint=http://127.0.0.1:9;accesskey=a2V5"),
                resource_id="resource",
            ),
        }
    )
    assert acs_routes_for(configured, call_control=None, handler=NoCalls(), metrics=None) == ()
    routes = acs_routes_for(
        configured, call_control=FakeCallControl(), handler=NoCalls(), metrics=None
    )
    assert sorted(r.path for r in routes) == [  # type: ignore[attr-defined]
        "/api/acs/callbacks",
        "/api/acs/events",
        "/ws/acs/media",
    ]
