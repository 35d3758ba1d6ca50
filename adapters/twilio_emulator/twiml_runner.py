"""How the Twilio emulator executes TwiML: streams, dials and hang-ups, one document at a time.

Verbs ("TwiML for Programmable Voice", https://www.twilio.com/docs/voice/twiml):

* ``<Connect><Stream url>``: connect a media client (``<Parameter>`` values become
  ``customParameters``); the document waits until the stream ends, then goes on.
* ``<Dial action><Number statusCallback statusCallbackEvent>``: the caller's stream has ended;
  the number rings for ``ring_s`` and answers or not (:attr:`TwilioEmulator.outcomes`). An
  answer posts the number's ``statusCallback`` (``ParentCallSid`` is the caller's call), the
  dialled call lasts ``transfer_talk_s``, then the ``action`` URL gets ``DialCallStatus``
  and its TwiML replaces the document.
* ``<Hangup/>``, or the end of the document: the call completes.

A REST update with new TwiML (:meth:`TwimlRunner.redirect`) stops the current stream (``stop``)
and abandons the current document, as Twilio does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import xml.etree.ElementTree as ET  # noqa: S405 (TwiML from the server under test)
from typing import TYPE_CHECKING

from adapters.twilio_emulator.calls import Answer, EmulatedTwilioCall, new_sid
from adapters.twilio_emulator.media_client import TwilioMediaClient

if TYPE_CHECKING:
    from adapters.twilio_emulator.server import TwilioEmulator

logger = logging.getLogger(__name__)


class TwimlRunner:
    """Executes each call's TwiML; one running document per call.

    Args:
        emulator: The emulator (webhooks, outcomes, owned tasks).
    """

    def __init__(self, emulator: TwilioEmulator) -> None:
        self._emulator = emulator
        self._documents: dict[str, asyncio.Task[None]] = {}

    def redirect(self, call: EmulatedTwilioCall, twiml: str, url: str) -> None:
        """Replace the call's running document by ``twiml`` (or the TwiML fetched from ``url``)."""
        previous = self._documents.pop(call.call_sid, None)
        task = self._emulator.spawn(
            self._replace(call, previous, twiml, url), f"twilio-emulator-twiml-{call.call_sid}"
        )
        self._documents[call.call_sid] = task

    async def _replace(
        self,
        call: EmulatedTwilioCall,
        previous: asyncio.Task[None] | None,
        twiml: str,
        url: str,
    ) -> None:
        if previous is not None and not previous.done():
            previous.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await previous
        if call.media is not None and not call.media.closed.is_set():
            await call.media.stop()
        if url and not twiml:
            status, twiml = await self._emulator.post(call, url, {}, "twiml")
            if status != 200:
                await self.end(call, "failed")
                return
        await self.run(call, twiml)

    async def run(self, call: EmulatedTwilioCall, twiml: str) -> None:
        """Execute ``twiml`` for ``call`` until it ends or hands over to another document."""
        call.twiml.append(twiml)
        try:
            root = ET.fromstring(twiml)  # noqa: S314 (TwiML from the server under test)
        except ET.ParseError:
            logger.warning("Twilio emulator: TwiML of %s is not XML", call.call_sid)
            await self.end(call, "failed")
            return
        for verb in root:
            if call.ended.is_set():
                return
            if verb.tag == "Connect":
                stream = verb.find("Stream")
                if stream is not None:
                    await self._stream(call, stream)
            elif verb.tag == "Dial":
                if await self._dial(call, verb):
                    return
            elif verb.tag == "Hangup":
                break
        await self.end(call, "completed")

    async def _stream(self, call: EmulatedTwilioCall, stream: ET.Element) -> None:
        emulator = self._emulator
        if call.status in ("queued", "ringing"):
            call.status = "in-progress"
        parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        client = TwilioMediaClient(
            stream.get("url", ""),
            call_sid=call.call_sid,
            account_sid=call.account_sid,
            parameters=parameters,
            record=emulator.record_media,
            keep_frame_times=emulator.keep_frame_times,
        )
        try:
            await client.connect()
        except Exception as exc:
            call.media_error = f"{type(exc).__name__}: {exc}"
            logger.warning("emulated Twilio stream failed: %s", call.media_error)
            call.media_ready.set()
            return
        call.media = client
        call.streams += 1
        call.media_ready.set()
        try:
            await client.closed.wait()
        except asyncio.CancelledError:
            await client.stop()
            raise

    async def _dial(self, call: EmulatedTwilioCall, dial: ET.Element) -> bool:
        """Run a ``<Dial>``; True when its ``action`` TwiML took over the call."""
        emulator = self._emulator
        number = dial.find("Number")
        target = (number.text or "").strip() if number is not None else (dial.text or "").strip()
        call.transfers.append(target)
        await asyncio.sleep(emulator.ring_s)
        outcome = emulator.outcome_for(target)
        dial_status = outcome.value
        if outcome is Answer.ANSWER:
            dial_status = "completed"
            events = (number.get("statusCallbackEvent", "") if number is not None else "").split()
            callback = number.get("statusCallback", "") if number is not None else ""
            if callback and "answered" in events:
                child = new_sid("CA")
                await emulator.post(
                    call,
                    callback,
                    {"CallSid": child, "ParentCallSid": call.call_sid, "CallStatus": "in-progress"},
                    "number:answered",
                )
            await asyncio.sleep(emulator.transfer_talk_s)
        action = dial.get("action", "")
        if not action:
            return False
        status, twiml = await emulator.post(
            call, action, {"DialCallStatus": dial_status}, f"dial:{dial_status}"
        )
        if status != 200 or not twiml.strip():
            await self.end(call, "completed")
            return True
        await self.run(call, twiml)
        return True

    async def dial_out(self, call: EmulatedTwilioCall, twiml: str, url: str) -> None:
        """An outbound call placed through REST: ring the number, then run its TwiML."""
        emulator = self._emulator
        call.status = "initiated"
        await emulator.post_status(call, "initiated")
        call.status = "ringing"
        await emulator.post_status(call, "ringing")
        await asyncio.sleep(emulator.ring_s)
        outcome = emulator.outcome_for(call.to_number)
        if outcome is not Answer.ANSWER:
            await self.end(call, outcome.value)
            return
        call.status = "in-progress"
        await emulator.post_status(call, "answered")
        if call.ended.is_set():
            return
        self.redirect(call, twiml, url)

    async def end(self, call: EmulatedTwilioCall, status: str) -> None:
        """End the call with ``status``: stop its stream and post ``completed``."""
        if call.ended.is_set():
            return
        call.status = status
        call.ended.set()
        document = self._documents.pop(call.call_sid, None)
        if document is not None and document is not asyncio.current_task():
            document.cancel()
        if call.media is not None:
            await call.media.stop()
        call.media_ready.set()
        await self._emulator.post_status(call, "completed")
