"""Domain: the conversation core.

What belongs here: agents and the agent graph, policies (barge-in, endpointing, no-input,
tools, handoffs, DTMF, failures), the clause segmenter, and the pure conversation state machine
``(state, event) -> (state, commands)`` in ``domain/conversation`` (``domain.session``
re-exports it); ``domain/runtime`` holds the async call runtime that drives one call through
the ports.

What does not: I/O, clocks, logging in the state machine, and any import beyond the standard
library and ``ports`` (import-linter checks).
"""
