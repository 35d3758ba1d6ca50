"""``ports.CallRecording`` on ACS Call Automation recording, through the real SDK.

``start`` calls ``CallAutomationClient.start_recording(call_connection_id=...)``
(``POST /calling/recordings``) for an audio recording (``recordingContentType: audio``,
``recordingChannelType: mixed``, ``recordingFormatType: wav`` by default), with a
``recordingStateCallbackUri`` that carries a per-call token (:class:`RecordingTokens`), so the
``RecordingStateChanged`` callbacks can be tied to the call they name. ``stop`` is
``DELETE /calling/recordings/{recordingId}``; ``delete`` deletes the recorded file at its
``deleteLocation`` (retention). Docs: "Call Recording overview",
https://learn.microsoft.com/azure/communication-services/concepts/voice-video-calling/call-recording,
and "Record a call when it starts",
https://learn.microsoft.com/azure/communication-services/how-tos/call-automation/record-calls.

Errors are translated by :func:`adapters.acs.call_control.map_sdk_error` and transient ones
retried like every Call Automation operation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from azure.communication.callautomation.aio import CallAutomationClient

from adapters.acs.call_control import PORT, acs_retry
from adapters.resilience.retry import RetryConfig
from ports import CallNotFoundError, ProviderError
from ports.call_history import RecordingKind, RecordingRef, RecordingState

logger = logging.getLogger(__name__)


RECORDING_CALLBACKS_PATH: Final = "/api/acs/recording-callbacks"
RECORDING_EVENTS_PATH: Final = "/api/acs/recording-events"
TOKEN_PARAM: Final = "recording_token"  # noqa: S105 (a parameter name; "token" keeps it out of logs)
CALL_PARAM: Final = "call"


class RecordingTokens:
    """HMAC tokens binding a recording callback URL to one call connection id.

    Args:
        key: The deployment's key (shared by its instances); random when None.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def issue(self, call_id: str) -> str:
        """The token for ``call_id``."""
        mac = hmac.new(self._key, b"recording:" + call_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode()[:22]

    def verify(self, call_id: str, token: str) -> bool:
        """Whether ``token`` was issued for ``call_id`` (constant time)."""
        return bool(call_id) and hmac.compare_digest(token.encode(), self.issue(call_id).encode())


@dataclass(frozen=True, slots=True)
class RecordingOptions:
    """What ACS records.

    Attributes:
        content: ``audio`` (or ``audioVideo``).
        channels: ``mixed`` or ``unmixed``.
        format: ``wav``, ``mp3`` or ``mp4``.
    """

    content: str = "audio"
    channels: str = "mixed"
    format: str = "wav"


class AcsCallRecording:
    """Call recording through Call Automation.

    Args:
        client: The SDK's async client (owned by the caller).
        public_base_url: Base URL ACS reaches this deployment at (the state callback URL).
        tokens: Signs each call's state callback URL.
        options: Content, channels and format.
        retry: Retry of transient failures.
        enforce_https: False for the local emulator with a token credential.
    """

    def __init__(
        self,
        client: CallAutomationClient,
        *,
        public_base_url: str,
        tokens: RecordingTokens,
        options: RecordingOptions | None = None,
        retry: RetryConfig | None = None,
        enforce_https: bool = True,
    ) -> None:
        self._client = client
        self._base = public_base_url.rstrip("/")
        self._tokens = tokens
        self._options = options or RecordingOptions()
        # Stopping a recording whose call has ended is routine: ACS stopped it.
        self._call = acs_retry(retry or RetryConfig(), quiet_codes=("call_not_found",))
        self._kwargs: dict[str, Any] = {} if enforce_https else {"enforce_https": False}

    def callback_url(self, call_id: str) -> str:
        """The ``recordingStateCallbackUri`` of ``call_id``."""
        query = urlencode({CALL_PARAM: call_id, TOKEN_PARAM: self._tokens.issue(call_id)})
        return f"{self._base}{RECORDING_CALLBACKS_PATH}?{query}"

    async def start(self, call_id: str) -> RecordingRef:
        """Start recording the call (``POST /calling/recordings``).

        Raises:
            CallNotFoundError: The call has ended.
            ProviderError: Another failure.
        """
        options = self._options
        props = await self._call(
            "start_recording",
            lambda: self._client.start_recording(
                call_connection_id=call_id,
                recording_state_callback_url=self.callback_url(call_id),
                recording_content_type=options.content,
                recording_channel_type=options.channels,
                recording_format_type=options.format,
                **self._kwargs,
            ),
        )
        state = str(props.recording_state or "")
        return RecordingRef(
            kind=RecordingKind.ACS.value,
            recording_id=str(props.recording_id),
            state=state if state in RecordingState._value2member_map_ else "requested",
            format=options.format,
            data={"channels": options.channels, "content": options.content},
        )

    async def stop(self, recording_id: str) -> None:
        """Stop the recording (``DELETE /calling/recordings/{recordingId}``).

        Raises:
            CallNotFoundError: It has already ended.
            ProviderError: Another failure.
        """
        await self._call(
            "stop_recording", lambda: self._client.stop_recording(recording_id, **self._kwargs)
        )

    async def delete(self, recording: RecordingRef) -> None:
        """Delete the recorded file at its ``deleteLocation`` (nothing when there is none).

        The SDK sends the account's credentials only to ACS recording hosts
        (``*.asm.skype.com``...): any other location (the local emulator's) is refused.

        Raises:
            ProviderError: ACS refused or failed, or the location is not an ACS one.
        """
        location = recording.data.get("deleteLocation")
        if recording.kind != RecordingKind.ACS.value or not isinstance(location, str):
            return
        try:
            await self._call(
                "delete_recording",
                lambda: self._client.delete_recording(location, **self._kwargs),
            )
        except ValueError as exc:  # the SDK's recording URL guard
            raise ProviderError(f"not an ACS recording location: {exc}", port=PORT) from exc
        except CallNotFoundError:
            return  # already gone (ACS keeps recordings 48 h)
