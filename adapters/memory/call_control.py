"""FakeCallControl: a :class:`ports.CallControl` that records operations and emits events."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from ports import (
    CallConnection,
    CallEvent,
    CallEventKind,
    CallNotFoundError,
    IncomingCall,
    MediaOptions,
    Participant,
    ProviderError,
)


@dataclass(frozen=True, slots=True)
class CallOperation:
    """One operation asked of the fake, in call order.

    Attributes:
        name: ``"answer"``, ``"create_call"``, ``"hang_up"``, ``"transfer"`` or
            ``"start_dtmf_recognition"``.
        call_connection_id: The call concerned.
        args: The other arguments, by name.
    """

    name: str
    call_connection_id: str
    args: dict[str, object] = field(default_factory=dict)


_ENDED = object()


class FakeCallControl:
    """Telephony without a telephone: every call lives in this object.

    Behaviour, modelled on ACS Call Automation:

    * ``answer``/``create_call`` return a new :class:`~ports.CallConnection` (ids ``call-1``,
      ``call-2``...) and emit ``CallConnected``.
    * ``hang_up`` ends the call and emits ``CallDisconnected``, after which the call's event
      stream ends; later operations on it raise :class:`~ports.CallNotFoundError`, as do
      operations on ids never seen (use :meth:`add_call` for a call that arrived otherwise).
    * ``transfer`` emits ``CallTransferAccepted`` (or ``CallTransferFailed`` when
      ``transfer_succeeds`` is False) with the operation context; an accepted transfer ends
      the call for us, as ACS does.
    * ``start_dtmf_recognition`` records the request; the test emits ``RecognizeCompleted``
      with :meth:`emit`.
    * ``hold``/``unhold`` record; ``add_participant`` emits ``AddParticipantSucceeded`` (or
      ``AddParticipantFailed`` when ``consult_answers`` is False).
    * ``fail_with`` makes every operation raise that error (for error-path tests).

    Args:
        transfer_succeeds: Outcome of transfers.
        consult_answers: Outcome of ``add_participant``.
        fail_with: Error raised by every operation while set.

    Attributes:
        operations: Every operation, in order.
    """

    def __init__(
        self,
        *,
        transfer_succeeds: bool = True,
        consult_answers: bool = True,
        fail_with: ProviderError | None = None,
    ) -> None:
        self.transfer_succeeds = transfer_succeeds
        self.consult_answers = consult_answers
        self.fail_with = fail_with
        self.operations: list[CallOperation] = []
        self._queues: dict[str, asyncio.Queue[object]] = {}
        self._active: set[str] = set()
        self._ended: set[str] = set()
        self._ids = itertools.count(1)

    # Test side -------------------------------------------------------------------------

    def add_call(self, call_connection_id: str) -> None:
        """Make a call known and active (one that arrived without ``answer``)."""
        self._active.add(call_connection_id)
        self._ended.discard(call_connection_id)
        self._queue(call_connection_id)

    def is_active(self, call_connection_id: str) -> bool:
        """Whether the call is connected and not ended."""
        return call_connection_id in self._active

    def emit(self, event: CallEvent) -> None:
        """Deliver ``event`` to the call's event stream (``CallDisconnected`` also ends it)."""
        self._queue(event.call_connection_id).put_nowait(event)
        if event.kind in (CallEventKind.CALL_DISCONNECTED, CallEventKind.CALL_LOST):
            self._end(event.call_connection_id)

    async def events(self, call_connection_id: str) -> AsyncIterator[CallEvent]:
        """The call's events in emit order, ending once the call has ended."""
        queue = self._queue(call_connection_id)
        while True:
            item = await queue.get()
            if item is _ENDED:
                queue.put_nowait(_ENDED)  # later readers end too
                return
            assert isinstance(item, CallEvent)  # noqa: S101 (queue holds only these)
            yield item

    # Port side -------------------------------------------------------------------------

    async def answer(
        self, call: IncomingCall, *, callback_url: str, media: MediaOptions
    ) -> CallConnection:
        """Answer and connect; emits ``CallConnected``."""
        self._check()
        connection = self._connect()
        self._record(
            "answer",
            connection.call_connection_id,
            incoming_call_context=call.incoming_call_context,
            callback_url=callback_url,
            media=media,
        )
        return connection

    async def create_call(
        self,
        target: Participant,
        *,
        callback_url: str,
        media: MediaOptions,
        source_caller_id: str | None = None,
    ) -> CallConnection:
        """Place a call that connects at once; emits ``CallConnected``."""
        self._check()
        connection = self._connect()
        self._record(
            "create_call",
            connection.call_connection_id,
            target=target,
            callback_url=callback_url,
            media=media,
            source_caller_id=source_caller_id,
        )
        return connection

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool = True) -> None:
        """End the call; emits ``CallDisconnected``.

        Raises:
            CallNotFoundError: The call is unknown or already ended.
        """
        self._check(call_connection_id)
        self._record("hang_up", call_connection_id, for_everyone=for_everyone)
        self.emit(CallEvent(CallEventKind.CALL_DISCONNECTED, call_connection_id))

    async def transfer(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        operation_context: str = "",
        custom_context: Mapping[str, str] | None = None,
    ) -> None:
        """Transfer; emits ``CallTransferAccepted`` (then the call ends) or ``CallTransferFailed``.

        Raises:
            CallNotFoundError: The call is unknown or already ended.
        """
        self._check(call_connection_id)
        self._record(
            "transfer",
            call_connection_id,
            target=target,
            operation_context=operation_context,
            custom_context=dict(custom_context or {}),
        )
        if self.transfer_succeeds:
            self.emit(
                CallEvent(
                    CallEventKind.TRANSFER_ACCEPTED,
                    call_connection_id,
                    operation_context=operation_context,
                )
            )
            self.emit(CallEvent(CallEventKind.CALL_DISCONNECTED, call_connection_id))
        else:
            self.emit(
                CallEvent(
                    CallEventKind.TRANSFER_FAILED,
                    call_connection_id,
                    operation_context=operation_context,
                    result_code=400,
                    message="transfer target did not answer",
                )
            )

    async def start_dtmf_recognition(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        max_tones: int = 1,
        inter_tone_timeout_s: float = 5.0,
        initial_silence_timeout_s: float = 15.0,
        stop_tones: tuple[str, ...] = ("#",),
        operation_context: str = "",
    ) -> None:
        """Record the request; the test emits the outcome.

        Raises:
            CallNotFoundError: The call is unknown or already ended.
        """
        self._check(call_connection_id)
        self._record(
            "start_dtmf_recognition",
            call_connection_id,
            target=target,
            max_tones=max_tones,
            inter_tone_timeout_s=inter_tone_timeout_s,
            initial_silence_timeout_s=initial_silence_timeout_s,
            stop_tones=stop_tones,
            operation_context=operation_context,
        )

    async def add_participant(
        self,
        call_connection_id: str,
        target: Participant,
        *,
        operation_context: str = "",
        custom_context: Mapping[str, str] | None = None,
        invitation_timeout_s: float = 30.0,
    ) -> None:
        """Invite; emits ``AddParticipantSucceeded`` (or ``Failed`` unless ``consult_answers``).

        Raises:
            CallNotFoundError: The call is unknown or already ended.
        """
        self._check(call_connection_id)
        self._record(
            "add_participant",
            call_connection_id,
            target=target,
            operation_context=operation_context,
            custom_context=dict(custom_context or {}),
        )
        kind = (
            CallEventKind.ADD_PARTICIPANT_SUCCEEDED
            if self.consult_answers
            else CallEventKind.ADD_PARTICIPANT_FAILED
        )
        self.emit(
            CallEvent(
                kind,
                call_connection_id,
                operation_context=operation_context,
                participants=(target.raw_id,),
            )
        )

    async def hold(
        self, call_connection_id: str, target: Participant, *, operation_context: str = ""
    ) -> None:
        """Record the hold.

        Raises:
            CallNotFoundError: The call is unknown or already ended.
        """
        self._check(call_connection_id)
        self._record("hold", call_connection_id, target=target)

    async def unhold(
        self, call_connection_id: str, target: Participant, *, operation_context: str = ""
    ) -> None:
        """Record the unhold.

        Raises:
            CallNotFoundError: The call is unknown or already ended.
        """
        self._check(call_connection_id)
        self._record("unhold", call_connection_id, target=target)

    def _check(self, call_connection_id: str | None = None) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        if call_connection_id is not None and call_connection_id not in self._active:
            raise CallNotFoundError(
                f"call {call_connection_id!r} is not active", port="call_control"
            )

    def _connect(self) -> CallConnection:
        call_id = f"call-{next(self._ids)}"
        while call_id in self._queues:
            call_id = f"call-{next(self._ids)}"
        self.add_call(call_id)
        self.emit(CallEvent(CallEventKind.CALL_CONNECTED, call_id))
        return CallConnection(call_id, server_call_id=f"server-{call_id}")

    def _record(self, name: str, call_connection_id: str, **args: object) -> None:
        self.operations.append(CallOperation(name, call_connection_id, dict(args)))

    def _queue(self, call_connection_id: str) -> asyncio.Queue[object]:
        queue = self._queues.get(call_connection_id)
        if queue is None:
            queue = self._queues[call_connection_id] = asyncio.Queue()
        return queue

    def _end(self, call_connection_id: str) -> None:
        self._active.discard(call_connection_id)
        if call_connection_id not in self._ended:
            self._ended.add(call_connection_id)
            self._queue(call_connection_id).put_nowait(_ENDED)
