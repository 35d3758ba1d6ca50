"""A local ACS emulator (REST, Event Grid, callbacks, media) for offline calls and tests."""

from adapters.acs_emulator.media_client import MediaClient, PlayoutBuffer
from adapters.acs_emulator.scenario import CallerTurn, CallResult, TurnResult, run_inbound_call
from adapters.acs_emulator.server import AcsEmulator, EmulatedCall
from adapters.acs_emulator.signing import EmulatorSigner

__all__ = [
    "AcsEmulator",
    "CallResult",
    "CallerTurn",
    "EmulatedCall",
    "EmulatorSigner",
    "MediaClient",
    "PlayoutBuffer",
    "TurnResult",
    "run_inbound_call",
]
