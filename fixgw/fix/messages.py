"""FIX reject messages that have no canonical-model counterpart: session Reject (3), BusinessMessageReject (j).

A counterparty's reject of something we sent decodes to one of these; the venue decides what it means for
the order (a business reject of a NewOrderSingle is definitive evidence: Rejected).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from fixgw.model.enums import BusinessRejectReason, SessionRejectReason


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SessionReject(_Value):
    """Reject (35=3): a message that failed session-level validation."""

    ref_seq_num: int
    ref_tag_id: int | None = None
    ref_msg_type: str | None = None
    reason: SessionRejectReason | None = None
    text: str | None = None


class BusinessReject(_Value):
    """BusinessMessageReject (35=j): a well-formed message the application cannot process."""

    ref_msg_type: str
    reason: BusinessRejectReason
    ref_seq_num: int | None = None
    ref_id: str | None = None
    """BusinessRejectRefID(379): the ClOrdID (or other business id) of the rejected message."""
    text: str | None = None
