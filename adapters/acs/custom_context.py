"""Custom calling context for ACS transfers and added participants (SIP and VoIP headers).

"Custom context" (Call Automation how-to,
https://learn.microsoft.com/azure/communication-services/how-tos/call-automation/custom-context):
a transfer or an added participant may carry key/value headers. To a phone number they travel
as SIP headers, whose keys must carry the ``X-MS-Custom-`` prefix (at most 5 headers, keys at
most 64 characters with the prefix, values at most 256); to an ACS user as VoIP headers (keys
at most 64 characters, no prefix). The receiving side finds them in its ``IncomingCall``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from ports import Participant, ParticipantKind

SIP_PREFIX: Final = "X-MS-Custom-"
MAX_SIP_HEADERS: Final = 5
MAX_KEY_CHARS: Final = 64
MAX_VALUE_CHARS: Final = 256
_KEY_CHARS = re.compile(r"[^A-Za-z0-9.!%*_+~-]")
_VALUE_CHARS = re.compile(r"[^A-Za-z0-9=;.!%*_+~ -]")


def headers_for(
    target: Participant, context: Mapping[str, str] | None
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """``(sip_headers, voip_headers)`` for the SDK call, from a name -> value context.

    Keys are cut to the allowed characters and lengths; a phone target gets at most
    :data:`MAX_SIP_HEADERS` headers (the first ones). Empty context gives ``(None, None)``.
    """
    if not context:
        return None, None
    if target.kind is ParticipantKind.PHONE_NUMBER or target.raw_id.startswith("4:"):
        sip: dict[str, str] = {}
        for name, value in list(context.items())[:MAX_SIP_HEADERS]:
            key = (SIP_PREFIX + _KEY_CHARS.sub("", name))[:MAX_KEY_CHARS]
            sip[key] = _VALUE_CHARS.sub("", value)[:MAX_VALUE_CHARS]
        return sip, None
    voip = {
        _KEY_CHARS.sub("", name)[:MAX_KEY_CHARS]: value[:MAX_VALUE_CHARS]
        for name, value in context.items()
    }
    return None, voip
