"""The emulator's own parts: HMAC checking and the far end's playout buffer."""

from __future__ import annotations

from adapters.acs_emulator.media_client import PlayoutBuffer
from adapters.acs_emulator.signing import (
    hmac_signature,
    hmac_string_to_sign,
    sha256_b64,
    verify_hmac_request,
)
from ports import PCM16_16K

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHM="


def signed(
    body: bytes, *, key: str = KEY, path: str = "/calling/x?api-version=1"
) -> dict[str, str]:
    digest = sha256_b64(body)
    date = "Fri, 20 Nov 2026 22:00:00 GMT"
    sig = hmac_signature(key, hmac_string_to_sign("POST", path, date, "127.0.0.1:5", digest))
    return {
        "authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={sig}",
        "x-ms-date": date,
        "x-ms-content-sha256": digest,
        "host": "127.0.0.1:5",
    }


def test_a_correctly_signed_request_passes() -> None:
    assert (
        verify_hmac_request(
            access_key_b64=KEY,
            method="POST",
            path_and_query="/calling/x?api-version=1",
            headers=signed(b"{}"),
            body=b"{}",
        )
        is None
    )


def test_a_tampered_body_path_or_key_fails() -> None:
    headers = signed(b"{}")
    assert (
        verify_hmac_request(
            access_key_b64=KEY,
            method="POST",
            path_and_query="/calling/x?api-version=1",
            headers=headers,
            body=b"{1}",
        )
        == "bad_content_hash"
    )
    assert (
        verify_hmac_request(
            access_key_b64=KEY,
            method="POST",
            path_and_query="/calling/y?api-version=1",
            headers=headers,
            body=b"{}",
        )
        == "bad_signature"
    )
    assert (
        verify_hmac_request(
            access_key_b64=KEY,
            method="POST",
            path_and_query="/calling/x?api-version=1",
            headers=signed(b"{}", key="b3RoZXI="),
            body=b"{}",
        )
        == "bad_signature"
    )
    assert (
        verify_hmac_request(
            access_key_b64=KEY, method="POST", path_and_query="/", headers={}, body=b""
        )
        == "missing_authorization"
    )


def test_playout_plays_at_real_time_and_stop_drops_the_rest() -> None:
    now = [0.0]
    buffer = PlayoutBuffer(PCM16_16K, clock=lambda: now[0])
    buffer.push(b"\x01\x00" * 16000)  # 1 s of audio arrives at once
    now[0] = 0.25
    assert round(buffer.buffered_ms()) == 750
    dropped = buffer.stop()
    assert dropped == 24000  # the unplayed 750 ms
    now[0] = 0.5
    recording = buffer.recording()
    assert recording[:8000] == b"\x01\x00" * 4000  # 250 ms played
    assert recording[8000:] == bytes(len(recording) - 8000)  # then silence
    assert len(recording) == 16000


def test_a_persisted_signing_key_keeps_its_kid_across_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from adapters.acs_emulator.signing import EmulatorSigner

    first = EmulatorSigner(key_path=tmp_path / "k.pem")
    second = EmulatorSigner(key_path=tmp_path / "k.pem")
    assert first.kid == second.kid
    assert first.jwks() == second.jwks()
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0
