"""A local Twilio emulator (REST, signed webhooks, TwiML, Media Streams) for offline calls."""

from adapters.twilio_emulator.calls import Answer, EmulatedTwilioCall
from adapters.twilio_emulator.media_client import MarkedPlayout, TwilioMediaClient
from adapters.twilio_emulator.server import TwilioEmulator

__all__ = ["Answer", "EmulatedTwilioCall", "MarkedPlayout", "TwilioEmulator", "TwilioMediaClient"]
