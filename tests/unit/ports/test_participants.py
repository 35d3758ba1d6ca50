"""Transfer targets as participants (``ports.Participant.parse``)."""

from __future__ import annotations

import pytest

from ports import HANDOFF_TOOL_PREFIX, Participant, ParticipantKind


@pytest.mark.parametrize("target", ["+14255550123", "4:+14255550123", "  +14255550123 "])
def test_a_phone_number_or_its_raw_id_is_a_phone_participant(target: str) -> None:
    participant = Participant.parse(target)
    assert participant == Participant.phone("+14255550123")
    assert (participant.raw_id, participant.kind) == (
        "4:+14255550123",
        ParticipantKind.PHONE_NUMBER,
    )


def test_any_other_raw_id_is_a_communication_user() -> None:
    assert Participant.parse("8:acs:resource_user") == Participant.user("8:acs:resource_user")


def test_an_empty_target_is_refused() -> None:
    with pytest.raises(ValueError, match="phone number or a raw id"):
        Participant.parse("  ")


def test_the_handoff_prefix_is_the_one_the_domain_and_the_tool_registry_use() -> None:
    from adapters.tools.registry import RESERVED_PREFIX
    from domain.agents import HANDOFF_TOOL_PREFIX as DOMAIN_PREFIX
    from domain.agents import handoff_tool_name

    assert RESERVED_PREFIX is HANDOFF_TOOL_PREFIX is DOMAIN_PREFIX
    assert handoff_tool_name("billing") == "handoff_to_billing"
