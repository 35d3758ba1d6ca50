"""`parley check` and `parley serve` reject the same bad configurations, naming the env key.

Issue 12 item 10: ``check`` said ok for values ``serve`` then died on with a traceback, and
some values were accepted silently. Each case runs through the real CLI in a subprocess.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.conftest import FAKE_ENGINES, free_port, run_parley

ACS_OK = {
    "ACS_CONNECTION_STRING": "endpoint=http://127.0.0.1:1/;accesskey=c2VjcmV0",
    "ACS_RESOURCE_ID": "00000000-0000-0000-0000-000000000000",
}

BAD = [
    pytest.param({"ACS_CONNECTION_STRING": "garbage"}, "ACS_CONNECTION_STRING", id="acs-cs"),
    pytest.param(
        {"ACS_CONNECTION_STRING": ACS_OK["ACS_CONNECTION_STRING"], "ACS_VERIFY_TOKENS": "true"},
        "ACS_RESOURCE_ID",
        id="acs-resource-id-missing",
    ),
    pytest.param({"PARLEY_STORE": "redis", "REDIS_URL": "notaurl"}, "REDIS_URL", id="redis-url"),
    pytest.param({"REDIS_URL": "notaurl"}, "REDIS_URL", id="redis-url-unselected"),
    pytest.param(
        {"AZURE_SPEECH_SEGMENTATION_SILENCE_TIMEOUT_MS": "50"},
        "AZURE_SPEECH_SEGMENTATION_SILENCE_TIMEOUT_MS",
        id="segmentation-silence",
    ),
    pytest.param(
        {**ACS_OK, "ACS_CALLBACK_BASE_URL": "not-a-url"}, "ACS_CALLBACK_BASE_URL", id="cb-url"
    ),
    pytest.param(
        {**ACS_OK, "ACS_OPENID_CONFIG_URL": "ftp://x"}, "ACS_OPENID_CONFIG_URL", id="openid-url"
    ),
    pytest.param({"AZURE_SPEECH_TTS_POOL_SIZE": "-5"}, "AZURE_SPEECH_TTS_POOL_SIZE", id="pool"),
]


def _assert_rejected(result: object, key: str) -> None:
    out = result.stdout + result.stderr  # type: ignore[attr-defined]
    assert result.returncode != 0, out  # type: ignore[attr-defined]
    assert key in out, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize(("env", "key"), BAD)
def test_check_rejects_the_value_naming_its_env_key(
    env: dict[str, str], key: str, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("")
    result = run_parley(["check"], {**FAKE_ENGINES, **env}, env_file)
    _assert_rejected(result, key)


@pytest.mark.parametrize(("env", "key"), BAD)
def test_serve_rejects_the_value_at_start_naming_its_env_key(
    env: dict[str, str], key: str, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("")
    # Bounded: a serve that accepts the value runs until the timeout, which fails the test.
    try:
        result = run_parley(
            ["serve", "--port", str(free_port())], {**FAKE_ENGINES, **env}, env_file, timeout_s=30
        )
    except Exception as exc:  # subprocess.TimeoutExpired: serve accepted the value
        pytest.fail(f"parley serve started with {env}: {exc}")
    _assert_rejected(result, key)


def test_check_and_serve_accept_a_good_acs_configuration(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("")
    result = run_parley(
        ["check"],
        {
            **FAKE_ENGINES,
            **ACS_OK,
            "ACS_CALLBACK_BASE_URL": "https://parley.example.com",
            "REDIS_URL": "rediss://:pw@cache.example.com:6380/0",
        },
        env_file,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration ok" in result.stdout
