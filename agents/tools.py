"""Tools of the example bank scenario, on deterministic fake data.

Loaded by bootstrap from this file's path (``PARLEY_TOOLS_MODULE``, default
``<PARLEY_AGENTS_DIR>/tools.py``): bootstrap calls :func:`register_tools` with a fresh
:class:`parley.tools.ToolRegistry`, so nothing here is global state. The bank is a small
in-memory object created per registry; every call of a process sees the same fake accounts,
and a locked card stays locked for the life of the process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

from parley.tools import HangUp, ToolContext, ToolRegistry, TransferCall

HUMAN_DESK = "+14255550100"
"""Where transfer_to_human sends callers (a fake number)."""


@dataclass(frozen=True, slots=True)
class Transaction:
    """One card transaction."""

    id: str
    date: str
    merchant: str
    amount: float


@dataclass
class FakeBank:
    """Deterministic accounts of the one demo customer."""

    balances: dict[str, float] = field(
        default_factory=lambda: {"checking": 2450.75, "savings": 10200.00}
    )
    transactions: tuple[Transaction, ...] = (
        Transaction("t-1004", "2026-11-19", "Corner Coffee", 4.50),
        Transaction("t-1003", "2026-11-18", "City Grocers", 86.20),
        Transaction("t-1002", "2026-11-17", "Skyline Electronics", 899.99),
        Transaction("t-1001", "2026-11-15", "Metro Transit", 2.75),
    )
    cards: dict[str, str] = field(default_factory=lambda: {"4242": "active", "1234": "active"})
    cases: list[str] = field(default_factory=list)


def register_tools(registry: ToolRegistry) -> None:
    """Register the bank tools into ``registry``, over a fresh :class:`FakeBank`."""
    bank = FakeBank()

    @registry.tool(timeout_ms=2000)
    async def check_balance(
        account: Literal["checking", "savings"] = "checking",
    ) -> dict[str, str]:
        """Current balance of one of the caller's accounts, in US dollars.

        Args:
            account: Which account to read.
        """
        return {"account": account, "balance": f"{bank.balances[account]:,.2f}"}

    @registry.tool(timeout_ms=2000)
    async def recent_transactions(
        limit: Annotated[int, Field(ge=1, le=10)] = 3,
    ) -> dict[str, object]:
        """The caller's most recent card transactions, newest first.

        Args:
            limit: How many transactions to return (1 to 10).
        """
        items = bank.transactions[:limit]
        summary = "; ".join(f"{t.amount:,.2f} dollars at {t.merchant} on {t.date}" for t in items)
        return {
            "count": len(items),
            "summary": summary,
            "transactions": [
                {"id": t.id, "date": t.date, "merchant": t.merchant, "amount": t.amount}
                for t in items
            ],
        }

    @registry.tool(timeout_ms=2000)
    async def lock_card(
        last_four: Annotated[str, Field(pattern=r"^\d{4}$")],
    ) -> dict[str, str]:
        """Lock the caller's card so no new charge goes through.

        Args:
            last_four: The last four digits of the card number.
        """
        if last_four not in bank.cards:
            return {"last_four": last_four, "status": "not_found"}
        bank.cards[last_four] = "locked"
        return {"last_four": last_four, "status": "locked"}

    @registry.tool(timeout_ms=2000)
    async def report_fraud(
        ctx: ToolContext,
        amount: float | None = None,
    ) -> dict[str, str]:
        """Open a fraud case for a charge the caller does not recognise.

        Args:
            ctx: The call (filled in by the executor, not by the model).
            amount: Amount of the charge in dollars, when the caller said it; the largest
                recent charge otherwise.
        """
        candidates = sorted(bank.transactions, key=lambda t: t.amount, reverse=True)
        charge = next((t for t in candidates if amount and abs(t.amount - amount) < 0.01), None)
        charge = charge or candidates[0]
        case_id = f"FR-{2001 + len(bank.cases)}"
        bank.cases.append(f"{case_id}:{charge.id}:{ctx.call_id}")
        return {
            "case_id": case_id,
            "transaction_id": charge.id,
            "merchant": charge.merchant,
            "amount": f"{charge.amount:,.2f}",
        }

    @registry.tool(timeout_ms=1000)
    async def transfer_to_human(reason: str = "caller asked for a person") -> TransferCall:
        """Transfer the caller to a human colleague at the service desk.

        Args:
            reason: Why, for the colleague.
        """
        return TransferCall(HUMAN_DESK, reason)

    @registry.tool(timeout_ms=1000)
    async def end_call(reason: str = "caller is done") -> HangUp:
        """End the call after saying goodbye, when the caller has nothing more.

        Args:
            reason: Why the call ends.
        """
        return HangUp(reason)
