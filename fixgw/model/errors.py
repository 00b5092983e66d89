"""Typed errors of the canonical layer. Each carries what a FIX reject needs: RefTagID, reason, text."""

from __future__ import annotations

from fixgw.model.enums import BusinessRejectReason, OrdRejReason, SessionRejectReason


class FixgwError(Exception):
    """Base of every error fixgw raises on purpose."""


class MessageRejected(FixgwError):
    """Inbound input we refuse. `kind` says which reject answers it:

    - "session": a session-level Reject (35=3) with SessionRejectReason (373),
    - "business": a BusinessMessageReject (35=j) with BusinessRejectReason (380),
    - "order": a rejected ExecutionReport (39=8) with OrdRejReason (103) - the order is well formed but invalid.
    """

    def __init__(
        self,
        text: str,
        *,
        kind: str = "order",
        ref_tag_id: int | None = None,
        ref_msg_type: str | None = None,
        session_reason: SessionRejectReason | None = None,
        business_reason: BusinessRejectReason | None = None,
        ord_rej_reason: OrdRejReason = OrdRejReason.OTHER,
        counterparty: str | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.kind = kind
        self.ref_tag_id = ref_tag_id
        self.ref_msg_type = ref_msg_type
        self.session_reason = session_reason
        self.business_reason = business_reason
        self.ord_rej_reason = ord_rej_reason
        self.counterparty = counterparty

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.text!r}, kind={self.kind!r}, ref_tag_id={self.ref_tag_id}, "
                f"counterparty={self.counterparty!r})")


class UnknownSymbolError(MessageRejected):
    """A symbol or security id the symbol master does not know."""

    def __init__(self, scheme: str, symbol: str, *, ref_tag_id: int = 55, counterparty: str | None = None) -> None:
        super().__init__(
            f"unknown symbol {symbol!r} (scheme {scheme})",
            kind="order",
            ref_tag_id=ref_tag_id,
            ord_rej_reason=OrdRejReason.UNKNOWN_SYMBOL,
            counterparty=counterparty,
        )
        self.scheme = scheme
        self.symbol = symbol


class InvalidTransition(FixgwError):
    """An (order status, event) pair that is not in the state machine's table."""

    def __init__(self, status: object, event: object, order_id: str | None = None) -> None:
        super().__init__(f"order {order_id or '?'}: event {event} is not allowed in status {status}")
        self.status = status
        self.event = event
        self.order_id = order_id


class OverfillError(FixgwError):
    """A fill that would take cumulative quantity past order quantity."""
