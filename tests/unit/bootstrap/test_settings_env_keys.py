"""Every settings field's validation error names its env key (issue 12 item 10).

A sweep over every field of every group: a value of the wrong shape for the field must be
rejected with a problem line that starts with the field's env key, and hypothesis feeds
arbitrary text to each field to check no rejection ever names anything else.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap.settings import GROUPS, SettingsError, load_settings

FIELDS = [
    pytest.param(group, name, id=group.env_key(name))
    for group in GROUPS
    for name in group.model_fields
]

CANDIDATES = ("not-a-number", "-5", "maybe", "__bogus__", "not-a-url", "ftp://x", "x" * 3)
"""Values at least one of which each constrained field rejects."""

FREE_TEXT = {
    # Realtime mode (bootstrap/realtime_settings.py): service names, free text.
    "PARLEY_REALTIME_MODEL",
    "PARLEY_REALTIME_VOICE",
    "PARLEY_REALTIME_TRANSCRIPTION_MODEL",
    "PARLEY_REALTIME_LANGUAGE",
    "AZURE_VOICELIVE_API_KEY",
    "AZURE_VOICELIVE_API_VERSION",
    "AZURE_VOICELIVE_MANAGED_IDENTITY_CLIENT_ID",
    "PARLEY_HOST",
    "PARLEY_AGENTS_DIR",
    "PARLEY_RECORDS_DIR",
    "PARLEY_TOOLS_MODULE",
    "PARLEY_INSTANCE_ID",
    "AZURE_SPEECH_KEY",
    "AZURE_SPEECH_REGION",
    "AZURE_SPEECH_LANGUAGE",
    "PARLEY_RUNTIME_LANGUAGE",
    "PARLEY_OPERATOR_KEY",
    "PARLEY_BROWSER_KEY",
    "AZURE_SPEECH_VOICE",
    "AZURE_SPEECH_RESOURCE_ID",
    "AZURE_SPEECH_PHRASE_LIST",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_DEPLOYMENT",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_OPENAI_MANAGED_IDENTITY_CLIENT_ID",
    "OPENAI_API_KEY",
    "OPENAI_MODEL",
    "REDIS_PASSWORD",
    "REDIS_USERNAME",
    "REDIS_TLS_CA_FILE",
    "REDIS_KEY_PREFIX",
    "ACS_MANAGED_IDENTITY_CLIENT_ID",
    "ACS_API_VERSION",
    "ACS_RESOURCE_ID",
    "ACS_WEBHOOK_KEY",
    "LOCAL_ESPEAK_VOICE",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "TWILIO_AUTH_TOKEN",
}
"""Fields where any text is a valid value (names, ids, secrets, paths)."""


def _problems(env_file: Path, key: str, value: str) -> list[str]:
    env_file.write_text(f"{key}={value}\n")
    try:
        load_settings(env_file)
    except SettingsError as exc:
        return list(exc.problems)
    return []


@pytest.mark.parametrize(("group", "name"), FIELDS)
def test_a_bad_value_of_every_field_is_rejected_naming_its_env_key(
    group: typing.Any, name: str, clean_env: Path
) -> None:
    key = group.env_key(name)
    rejected = {v: p for v in CANDIDATES if (p := _problems(clean_env, key, v))}
    if key in FREE_TEXT:
        assert not rejected, f"{key} is listed as free text but rejects {rejected}"
        return
    assert rejected, f"{key} accepts every candidate value {CANDIDATES}"
    for value, problems in rejected.items():
        assert problems and all(p.startswith(f"{key}:") for p in problems), (value, problems)


@pytest.mark.parametrize(("group", "name"), FIELDS)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.text(
        alphabet=st.characters(codec="ascii", exclude_characters="\r\n\"'#\\$"), max_size=20
    )
)
def test_any_rejection_of_a_field_names_only_that_env_key(
    group: typing.Any, name: str, value: str, clean_env: Path
) -> None:
    key = group.env_key(name)
    for problem in _problems(clean_env, key, value.strip()):
        assert problem.startswith(f"{key}:"), problem


def test_a_secret_is_never_echoed_in_its_rejection(clean_env: Path) -> None:
    problems = _problems(clean_env, "ACS_CONNECTION_STRING", "endpoint=ftp://h;accesskey=s3cr3t")
    assert problems and problems[0].startswith("ACS_CONNECTION_STRING:")
    assert "s3cr3t" not in "\n".join(problems)
    problems = _problems(clean_env, "REDIS_URL", "http://:hunter2@h")
    assert problems and "hunter2" not in "\n".join(problems)


def test_acs_without_a_resource_id_is_rejected_while_tokens_are_verified(
    clean_env: Path,
) -> None:
    clean_env.write_text("ACS_CONNECTION_STRING=endpoint=https://h;accesskey=k\n")
    with pytest.raises(SettingsError, match="ACS_RESOURCE_ID"):
        load_settings(clean_env)
    clean_env.write_text(
        "ACS_CONNECTION_STRING=endpoint=https://h;accesskey=k\nACS_VERIFY_TOKENS=false\n"
    )
    assert load_settings(clean_env).acs.resource_id == ""
