"""The ``CallRecording`` port: recording a telephony call at the provider (ACS Call Automation).

Promise:
    * ``start(call_id)`` asks the provider to record the call and returns the recording as
      accepted (``state`` ``"requested"`` or ``"active"``, the provider's ``recording_id``).
      State changes arrive later from the provider (ACS ``RecordingStateChanged`` callbacks,
      then the ``RecordingFileStatusUpdated`` Event Grid notification with the file location)
      and are written to the call's record by the adapter's endpoints.
    * ``stop(recording_id)`` ends the recording; stopping one that has already ended (the
      call hung up) raises :class:`~ports.errors.CallNotFoundError`.
    * ``delete(recording)`` deletes the recorded file at the provider (retention); a file that
      is already gone is not an error.
    * Errors: :class:`~ports.errors.ProviderError` subclasses, as ``CallControl`` raises them.
"""

from __future__ import annotations

from typing import Protocol

from ports.call_history import RecordingRef


class CallRecording(Protocol):
    """Provider-side call recording."""

    async def start(self, call_id: str) -> RecordingRef:
        """Start recording call ``call_id`` (a call connection id).

        Raises:
            CallNotFoundError: The call has ended.
            ProviderError: Another failure.
        """
        ...

    async def stop(self, recording_id: str) -> None:
        """Stop the recording.

        Raises:
            CallNotFoundError: The recording or its call has already ended.
            ProviderError: Another failure.
        """
        ...

    async def delete(self, recording: RecordingRef) -> None:
        """Delete the recorded file at the provider, if there is one.

        Raises:
            ProviderError: The provider refused or failed.
        """
        ...
