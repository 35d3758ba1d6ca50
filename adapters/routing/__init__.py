"""Routing of call events to the instance that owns the call's media stream."""

from adapters.routing.router import (
    OUTCOMES,
    CallEventFeed,
    CallEventRouter,
    decode_call_event,
    encode_call_event,
)

__all__ = ["OUTCOMES", "CallEventFeed", "CallEventRouter", "decode_call_event", "encode_call_event"]
