"""Positions and collateral from FIX brokers (FIX 4.4 / 5.0 SP2), sans-I/O: RequestForPositions (35=AN) and
CollateralInquiry (35=BB) out; RequestForPositionsAck (35=AO), PositionReport (35=AP) and CollateralReport (35=BA)
in, read into plain values. Builders of the answers are here too, for the broker simulator.

Fields relied on (FIX 4.4 specification, specs/fix/FIX44.xml):
- AN: PosReqID(710), PosReqType(724) 0 = positions, Account(1), AccountType(581) 1 = carried customer side,
  ClearingBusinessDate(715) YYYYMMDD, TransactTime(60); all required.
- AO: PosMaintRptID(721), PosReqID(710), TotalNumPosReports(727), PosReqResult(728) 0 = valid, 2 = no positions
  found, PosReqStatus(729) 0 = completed, 2 = rejected.
- AP: PosMaintRptID(721), PosReqID(710), TotalNumPosReports(727), PosReqResult(728), ClearingBusinessDate(715),
  Account(1), AccountType(581), Symbol(55), Currency(15), SettlPrice(730), SettlPriceType(731) 1 = final,
  PriorSettlPrice(734), NoPositions(702) groups of PosType(703) e.g. TOT total / SOD start of day, LongQty(704),
  ShortQty(705).
- BB: CollInquiryID(909), Account(1), SubscriptionRequestType(263) 0 = snapshot (all optional).
- BA: CollRptID(908), CollInquiryID(909), CollStatus(910), Account(1), Currency(15), MarginExcess(899),
  TotalNetValue(900), CashOutstanding(901).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from fixgw.model.errors import FixgwError

Fields = list[tuple[int, str]]
POSITIONS_TYPE = "0"
CARRIED_CUSTOMER_SIDE = "1"
SNAPSHOT = "0"


class PositionMessageError(FixgwError, ValueError):
    """A position or collateral message without a field we need, or with a value that is not a number."""


@dataclass(frozen=True, slots=True)
class PositionLine:
    request_id: str
    account: str
    symbol: str
    long_qty: Decimal
    short_qty: Decimal
    settl_price: Decimal | None
    total_reports: int | None

    @property
    def net(self) -> Decimal:
        return self.long_qty - self.short_qty


@dataclass(frozen=True, slots=True)
class CollateralLine:
    inquiry_id: str
    account: str
    currency: str
    total_net_value: Decimal | None
    cash_outstanding: Decimal | None
    margin_excess: Decimal | None


def request_for_positions(request_id: str, account: str, business_day: date, transact_time: datetime) -> Fields:
    return [(35, "AN"), (710, request_id), (724, POSITIONS_TYPE), (1, account), (581, CARRIED_CUSTOMER_SIDE),
            (715, business_day.strftime("%Y%m%d")), (60, transact_time.strftime("%Y%m%d-%H:%M:%S.%f")[:-3])]


def collateral_inquiry(inquiry_id: str, account: str) -> Fields:
    return [(35, "BB"), (909, inquiry_id), (263, SNAPSHOT), (1, account)]


def _number(fields: dict[int, str], tag: int, *, required: bool = False) -> Decimal | None:
    text = fields.get(tag)
    if text in (None, ""):
        if required:
            raise PositionMessageError(f"tag {tag} missing")
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise PositionMessageError(f"tag {tag}={text!r} is not a number") from None


def parse_position_report(fields: Sequence[tuple[int, str]]) -> PositionLine:
    """An AP; quantities from its NoPositions entries of PosType TOT (else the first entry)."""
    flat = dict(fields)
    if 55 not in flat:
        raise PositionMessageError("PositionReport without Symbol(55)")
    entries: list[dict[int, str]] = []
    for tag, value in fields:
        if tag == 703:
            entries.append({703: value})
        elif tag in (704, 705) and entries:
            entries[-1][tag] = value
    chosen = next((e for e in entries if e.get(703) == "TOT"), entries[0] if entries else {})
    total = flat.get(727)
    return PositionLine(flat.get(710, ""), flat.get(1, ""), flat[55], _number(chosen, 704) or Decimal(0),
                        _number(chosen, 705) or Decimal(0), _number(flat, 730),
                        int(total) if total and total.isdigit() else None)


def parse_collateral_report(fields: Sequence[tuple[int, str]]) -> CollateralLine:
    flat = dict(fields)
    if 908 not in flat:
        raise PositionMessageError("CollateralReport without CollRptID(908)")
    return CollateralLine(flat.get(909, ""), flat.get(1, ""), flat.get(15, ""), _number(flat, 900),
                          _number(flat, 901), _number(flat, 899))


def position_report(report_id: str, request_id: str, total: int, account: str, symbol: str, long_qty: Decimal,
                    short_qty: Decimal, price: Decimal, business_day: date, currency: str = "USD") -> Fields:
    text = _text
    return [(35, "AP"), (721, report_id), (710, request_id), (727, str(total)), (728, "0"),
            (715, business_day.strftime("%Y%m%d")), (1, account), (581, CARRIED_CUSTOMER_SIDE), (55, symbol),
            (15, currency), (730, text(price)), (731, "1"), (734, text(price)), (702, "1"), (703, "TOT"),
            (704, text(long_qty)), (705, text(short_qty))]


def positions_ack(report_id: str, request_id: str, total: int, account: str) -> Fields:
    return [(35, "AO"), (721, report_id), (710, request_id), (727, str(total)), (728, "0" if total else "2"),
            (729, "0"), (1, account), (581, CARRIED_CUSTOMER_SIDE)]


def collateral_report(report_id: str, inquiry_id: str, account: str, currency: str, total_net_value: Decimal,
                      cash_outstanding: Decimal) -> Fields:
    return [(35, "BA"), (908, report_id), (909, inquiry_id), (910, "3"), (1, account), (15, currency),
            (900, _text(total_net_value)), (901, _text(cash_outstanding))]


def _text(value: Decimal) -> str:
    text = format(value, "f")
    return (text.rstrip("0").rstrip(".") if "." in text else text) or "0"
