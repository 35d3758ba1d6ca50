"""The session state machine's former home, kept as a re-export of :mod:`domain.conversation`.

``from domain.session import Conversation, SessionState, Step, Phase`` keeps working for
callers outside the domain (bootstrap, benchmarks); new code imports
:mod:`domain.conversation`. See docs/adr/0004-conversation-package.md.
"""

from domain.conversation import (
    SCHEMA_VERSION,
    CallStatus,
    Clause,
    Conversation,
    Phase,
    Reply,
    ResponseState,
    Resume,
    SessionState,
    Step,
    Then,
    TurnState,
    UserState,
)

__all__ = [
    "SCHEMA_VERSION",
    "CallStatus",
    "Clause",
    "Conversation",
    "Phase",
    "Reply",
    "ResponseState",
    "Resume",
    "SessionState",
    "Step",
    "Then",
    "TurnState",
    "UserState",
]
