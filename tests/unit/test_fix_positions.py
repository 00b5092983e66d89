"""FIX position and collateral messages (sans-I/O): what we send, and the answers read back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from fixgw.fix.positions import (
    PositionMessageError,
    collateral_inquiry,
    collateral_report,
    parse_collateral_report,
    parse_position_report,
    position_report,
    request_for_positions,
)

D = Decimal


def test_requests_carry_the_required_fields() -> None:
    fields = dict(request_for_positions("R1", "ACC1", date(2026, 12, 7), datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)))
    assert fields == {35: "AN", 710: "R1", 724: "0", 1: "ACC1", 581: "1", 715: "20261207",
                      60: "20261207-01:02:03.000"}
    assert dict(collateral_inquiry("C1", "ACC1")) == {35: "BB", 909: "C1", 263: "0", 1: "ACC1"}


def test_position_and_collateral_reports_read_back() -> None:
    line = parse_position_report(position_report("P1", "R1", 2, "ACC1", "AAPL", D(0), D(50), D("190.25"),
                                                 date(2026, 12, 7)))
    assert (line.request_id, line.symbol, line.net, line.settl_price, line.total_reports) == (
        "R1", "AAPL", D(-50), D("190.25"), 2)
    collateral = parse_collateral_report(collateral_report("K1", "C1", "ACC1", "USD", D(1_000_000), D(-5)))
    assert (collateral.inquiry_id, collateral.total_net_value, collateral.cash_outstanding) == ("C1", D(1_000_000),
                                                                                               D(-5))


def test_the_total_entry_wins_over_start_of_day() -> None:
    fields = [(35, "AP"), (721, "P"), (710, "R"), (55, "MSFT"), (702, "2"), (703, "SOD"), (704, "10"), (705, "0"),
              (703, "TOT"), (704, "30"), (705, "5")]
    assert parse_position_report(fields).net == D(25)


def test_unreadable_reports_are_typed_errors() -> None:
    with pytest.raises(PositionMessageError, match="Symbol"):
        parse_position_report([(35, "AP"), (721, "P")])
    with pytest.raises(PositionMessageError, match="704"):
        parse_position_report([(35, "AP"), (55, "X"), (702, "1"), (703, "TOT"), (704, "many")])
    with pytest.raises(PositionMessageError, match="908"):
        parse_collateral_report([(35, "BA"), (909, "C")])
