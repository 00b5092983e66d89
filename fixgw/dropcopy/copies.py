"""A drop copy of one ExecutionReport, sans-I/O: canonical report + order of record -> FIX body fields.

Every copy is a standard FIX 4.4 ExecutionReport body (the same body goes to FIX 5.0 SP2 sessions) with:
- CopyMsgIndicator(797)=Y;
- OrderID(37) = our order id; SecondaryOrderID(198) = the venue's order id;
- ClOrdID(11)/OrigClOrdID(41) as exchanged with the original counterparty, SecondaryClOrdID(526) = the other
  side's: for a copy of a report sent to an EMS, our outbound (child) ClOrdID at the venue; for a copy of a
  report received from a venue, the EMS's (parent) ClOrdID;
- ExecID(17) unique in the copy stream: ours for sent reports, `<venue>:<venue ExecID>` for received ones;
  SecondaryExecID(527) = the venue's ExecID (fills, and every received report);
- Account(1), LastMkt(30) = the venue the order was routed to (broker or REST venue name), the original
  TransactTime(60);
- the direction in the header: DeliverToCompID(128) = the EMS session the report went to, or
  OnBehalfOfCompID(115) = the venue it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fixgw.fix.codec import Codec
from fixgw.fix.encode import encode
from fixgw.fix.fields import Fields
from fixgw.model.enums import ExecType
from fixgw.model.orders import ExecutionEvent
from fixgw.model.state import Order

DROPCOPY_SESSION = "dropcopy"
"""Journal `session` of copy rows: one row per copy (the template every drop-copy session gets)."""
COPY_BEGIN_STRING = "FIX.4.4"
COPY_DIALECT = "ems-default"
COPY_MSG_INDICATOR = 797
ON_BEHALF_OF = 115
DELIVER_TO = 128
ACCOUNT = 1
LAST_MKT = 30

_FILLS = (ExecType.TRADE, ExecType.TRADE_CORRECT, ExecType.TRADE_CANCEL)
# Tags of an ExecutionReport that mean the same in FIX 4.2, 4.4 and 5.0 SP2 (a reject built by an EMS codec).
_PORTABLE_TAGS = frozenset({35, 37, 11, 41, 17, 150, 39, 103, 1, 55, 65, 48, 22, 54, 38, 40, 44, 99, 59, 32, 31,
                            151, 14, 6, 60, 58})


class CopyBuilder:
    """Builds copy bodies with the standard client dialect at FIX 4.4 (canonical symbols)."""

    def __init__(self, codec: Codec) -> None:
        if (codec.account_tag, codec.last_mkt_tag) != (ACCOUNT, LAST_MKT):
            raise ValueError(f"copies need Account in tag {ACCOUNT} and LastMkt in {LAST_MKT} (dialect {codec.name})")
        self.codec = codec

    def of_sent(self, session: str, report: ExecutionEvent, order: Order | None) -> Fields:
        """A copy of a report fixgw sent to EMS session `session` (its ids are the EMS's and ours)."""
        venue = order.venue if order is not None else None
        update: dict[str, object] = {}
        if venue is not None:
            update["last_mkt"] = venue
        if report.account is None and order is not None and order.account is not None:
            update["account"] = order.account
        fields = encode(report.model_copy(update=update) if update else report, self.codec)
        extra: Fields = [(COPY_MSG_INDICATOR, "Y"), (DELIVER_TO, session)]
        if order is not None:
            if order.venue_cl_ord_id:
                extra.append((526, order.venue_cl_ord_id))
            if order.venue_order_id:
                extra.append((198, order.venue_order_id))
            prefix = f"{order.order_id}:"
            if report.exec_type in _FILLS and report.exec_id.startswith(prefix):
                extra.append((527, report.exec_id[len(prefix):]))  # our fill ExecID embeds the venue's
        return fields + extra

    def of_received(self, venue: str, event: ExecutionEvent, order: Order | None) -> Fields:
        """A copy of a report received from `venue` (its ids are ours-at-the-venue and the venue's)."""
        update: dict[str, object] = {"exec_id": f"{venue}:{event.exec_id}", "last_mkt": venue,
                                     "order_id": order.order_id if order is not None else "NONE"}
        if order is not None:
            # A venue may leave out what it knows we know: complete the required fields from the order.
            for name in ("instrument_id", "side", "account", "ord_type", "order_qty", "price"):
                if getattr(event, name) is None:
                    update[name] = getattr(order, name)
        fields = encode(event.model_copy(update=update), self.codec)
        extra: Fields = [(COPY_MSG_INDICATOR, "Y"), (ON_BEHALF_OF, venue), (527, event.exec_id)]
        if order is not None:
            extra.append((526, order.cl_ord_id))
        if event.order_id and event.order_id != "NONE":
            extra.append((198, event.order_id))
        return fields + extra

    @staticmethod
    def of_reply(session: str, fields: Sequence[tuple[int, str]]) -> Fields | None:
        """A copy of an ExecutionReport the EMS codec built to refuse a message (no order of record)."""
        if not fields or fields[0] != (35, "8"):
            return None
        kept = [(tag, value) for tag, value in fields if tag in _PORTABLE_TAGS]
        return [*kept, (COPY_MSG_INDICATOR, "Y"), (DELIVER_TO, session)]


@dataclass(frozen=True, slots=True)
class CopyFilter:
    """A drop-copy session's filter; empty sets let everything through."""

    accounts: frozenset[str] = frozenset()
    venues: frozenset[str] = frozenset()

    def matches(self, fields: Sequence[tuple[int, str]]) -> bool:
        if not self.accounts and not self.venues:
            return True
        account = venue = None
        for tag, value in fields:
            if tag == ACCOUNT and account is None:
                account = value
            elif tag == LAST_MKT and venue is None:
                venue = value
        return (not self.accounts or account in self.accounts) and (not self.venues or venue in self.venues)
