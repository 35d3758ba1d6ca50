"""The realtime call runtime: the same conversation over one speech-to-speech session.

``PARLEY_PIPELINE=realtime`` runs calls here instead of the cascade: caller audio goes to a
:class:`~ports.realtime.RealtimeSession`, the service's speech, transcript, audio, tool-call and
completion events become the conversation's events, and its commands (respond, speak a line,
stop playback, cancel, run a tool) become session requests. The conversation
(:mod:`domain.conversation`) is the one the cascade uses; see
docs/adr/0011-realtime-speech-to-speech.md for what moved to the service and what did not.

Modules: ``config`` (the realtime ports and per-agent options), ``link`` (the session's
lifecycle and its ordered requests), ``output`` (paced playout of response audio, progress per
clause, truncation), ``responses`` (responses, lines, history sync and replay, tool outputs),
``inbound`` (caller audio into the session; speech and transcript events), ``call`` (one call),
``runtime`` (the driving port).
"""

from domain.runtime.realtime.config import RealtimeAgentOptions, RealtimeDeps
from domain.runtime.realtime.runtime import RealtimeCallRuntime

__all__ = ["RealtimeAgentOptions", "RealtimeCallRuntime", "RealtimeDeps"]
