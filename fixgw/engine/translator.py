"""`SessionTranslator`: one session's translation (fixgw.fix and its `Codec`) bound to a counterparty's dialect,
FIX version and symbols, as the engine uses it."""

from __future__ import annotations

from typing import Protocol

from fixgw.fix.fields import Fields
from fixgw.model.orders import (
    CancelOrder,
    CancelRejectEvent,
    ExecutionEvent,
    MassStatusRequest,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)

EmsCommand = NewOrder | CancelOrder | ReplaceOrder | StatusRequest
BrokerCommand = EmsCommand | MassStatusRequest


class SessionTranslator(Protocol):
    begin_string: str
    symbol_scheme: str
    supports_mass_status: bool
    """The counterparty answers OrderMassStatusRequest (35=AF): its dialect says so and its FIX version has it."""

    def decode_ems(self, fields: Fields) -> EmsCommand:
        """An EMS's D/F/G/H as a canonical command; MessageRejected when it must be refused."""

    def reject_reply(self, error: Exception, fields: Fields) -> Fields:
        """The reply refusing `fields`: session Reject, BusinessMessageReject or rejected ExecutionReport."""

    def encode_report(self, report: ExecutionEvent | CancelRejectEvent) -> Fields:
        """An ExecutionReport / OrderCancelReject body for the EMS."""

    def encode_command(self, command: BrokerCommand) -> Fields:
        """A D/F/G/H/AF body for a broker."""

    def decode_venue(self, fields: Fields) -> ExecutionEvent | CancelRejectEvent | None:
        """A broker's 8/9 as a canonical event (None for messages we do not act on)."""
