"""Every pre-trade check, table-driven: at the limit, just below it and just above it.

Each row: the `[risk]` config, a setup that builds the exposure the check reads (orders routed, acked and
filled through the router core, as in the gateway), the order, and either None (it goes to the venue) or the
check expected to deny it - then the EMS gets 39=8 with OrdRejReason(103) and a Text naming the limit, the
configured value and the attempted value; the denial is journaled and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError
from risk_harness import RiskHarness, denial, denial_text

from fixgw.model.enums import OrdRejReason, OrdType, Side
from fixgw.risk.settings import RiskConfig
from fixgw.risk.switches import BREAKER, KILL, RAMP, new_switch

Setup = Callable[[RiskHarness], object]


def nothing(_h: RiskHarness) -> None:
    return None


@dataclass
class Row:
    id: str
    risk: dict[str, Any]
    order: dict[str, Any]
    denied_by: str | None
    setup: Setup = nothing
    text: list[str] = field(default_factory=list)
    """Fragments the Text(58) must contain."""
    reason: OrdRejReason | None = None

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


def exposure_50k(h: RiskHarness) -> None:
    """ACC1: 30000 open (300 @ 100) and 20000 filled today (200 @ 100)."""
    h.open_order(order_qty="300", price="100")
    h.filled_order("200", "100")


def long_600_open_200(h: RiskHarness) -> None:
    h.filled_order("600", "100")
    h.open_order(order_qty="200", price="100")


def aapl_60k_and_btc(h: RiskHarness) -> None:
    h.filled_order("300", "100")
    h.open_order(order_qty="300", price="100")
    h.open_order(instrument_id="BTC/USD", order_qty="5", price="10000")   # another instrument: not counted


def sent_seconds_ago(seconds: float) -> Setup:
    def setup(h: RiskHarness) -> None:
        assert h.new(order_qty="100", price="100").to_venue
        h.advance(seconds)
    return setup


def orders_this_second(count: int) -> Setup:
    def setup(h: RiskHarness) -> None:
        for index in range(count):
            assert h.new(order_qty=str(10 + index), price="100").to_venue
            h.advance(0.1)
    return setup


def switch(kind: str, scope: str, active: bool = True) -> Setup:
    def setup(h: RiskHarness) -> None:
        h.call(h.engine.set_switch, new_switch(kind, scope, active, who="test", reason="unit test"), h.core)
    return setup


def trip_then(kind: str, scope: str) -> Setup:
    def setup(h: RiskHarness) -> None:
        switch(BREAKER, scope)(h)
        h.advance(1)
        if kind == "reset":
            switch(BREAKER, scope, active=False)(h)
    return setup


QTY = {"defaults": {"max_order_qty": "1000"}}
NOTIONAL = {"defaults": {"max_order_notional": "100000"}}
COLLAR = {"instruments": {"AAPL": {"reference_price": "100"}}}
FAT = {"defaults": {"fat_finger_pct": "5"}, "instruments": {"AAPL": {"reference_price": "100"}}}
CREDIT = {"accounts": {"ACC1": {"credit_limit": "100000"}}}
POSITION = {"instruments": {"AAPL": {"max_position_qty": "1000"}}}
CONCENTRATION = {"accounts": {"ACC1": {"credit_limit": "1000000", "max_concentration_pct": "10"}}}
DUPLICATE = {"duplicate_window_ms": 1000}
THROTTLE = {"ems": {"EMS1": {"max_orders_per_second": 5}}}
RAMP_CAP = {"venues": {"BRK": {"ramp_notional_cap": "10000"}}}
NO_MARKET = {"venues": {"BRK": {"allow_market_orders": False}}, "instruments": {"AAPL": {"reference_price": "100"}}}
LIMIT = OrdRejReason.ORDER_EXCEEDS_LIMIT
BAND = OrdRejReason.PRICE_EXCEEDS_CURRENT_PRICE_BAND

ROWS = [
    # max order quantity
    Row("qty-below", QTY, {"order_qty": "999"}, None),
    Row("qty-at", QTY, {"order_qty": "1000"}, None),
    Row("qty-above", QTY, {"order_qty": "1001"}, "max_order_qty", text=["1001", "1000", "risk.defaults"], reason=LIMIT),
    # max order notional (qty x limit price)
    Row("notional-below", NOTIONAL, {"order_qty": "999", "price": "100"}, None),
    Row("notional-at", NOTIONAL, {"order_qty": "1000", "price": "100"}, None),
    Row("notional-above", NOTIONAL, {"order_qty": "1001", "price": "100"}, "max_order_notional",
        text=["100100", "100000"], reason=LIMIT),
    Row("notional-market-uses-reference", {**NOTIONAL, **COLLAR}, {"order_qty": "1001", "ord_type": OrdType.MARKET},
        "max_order_notional", text=["100100"]),
    Row("notional-market-without-reference", NOTIONAL, {"order_qty": "1", "ord_type": OrdType.MARKET},
        "no_reference_price", text=["reference_price"]),
    # price collar: 10% by default around the reference, both ways
    Row("collar-up-below", COLLAR, {"price": "109.99"}, None),
    Row("collar-up-at", COLLAR, {"price": "110"}, None),
    Row("collar-up-above", COLLAR, {"price": "110.01"}, "price_collar",
        text=["110.01", "10.01%", "reference 100 (configured)", "limit 10%"], reason=BAND),
    Row("collar-down-at", COLLAR, {"price": "90", "side": Side.SELL}, None),
    Row("collar-down-above", COLLAR, {"price": "89.99", "side": Side.SELL}, "price_collar", text=["89.99"]),
    Row("collar-stop-price", COLLAR, {"ord_type": OrdType.STOP, "stop_price": "111", "price": None},
        "price_collar", text=["stop price 111"]),
    Row("collar-off-per-instrument", {"instruments": {"AAPL": {"reference_price": "100", "price_collar_pct": 0}}},
        {"price": "150"}, None),
    # fat finger: a limit price through the reference on the aggressive side
    Row("fat-buy-below", FAT, {"price": "104.99"}, None),
    Row("fat-buy-at", FAT, {"price": "105"}, None),
    Row("fat-buy-above", FAT, {"price": "105.01"}, "fat_finger", text=["105.01", "5.01% above", "limit 5%"],
        reason=BAND),
    Row("fat-sell-at", FAT, {"price": "95", "side": Side.SELL}, None),
    Row("fat-sell-above", FAT, {"price": "94.99", "side": Side.SELL}, "fat_finger", text=["below"]),
    Row("fat-buy-passive", FAT, {"price": "94"}, None),
    # restricted list
    Row("restricted-global", {"restricted": ["GM*"]}, {"instrument_id": "GME"}, "restricted",
        text=["GME", "risk.restricted ('GM*')"], reason=OrdRejReason.BROKER_OPTION),
    Row("restricted-other-instrument", {"restricted": ["GM*"]}, {"instrument_id": "AAPL"}, None),
    Row("restricted-account", {"accounts": {"ACC2": {"restricted": ["AAPL"]}}}, {"account": "ACC2"}, "restricted",
        text=["risk.accounts.ACC2.restricted"]),
    Row("restricted-instrument", {"instruments": {"GME": {"restricted": True}}}, {"instrument_id": "GME"},
        "restricted", text=["risk.instruments.GME.restricted"]),
    # credit: open + filled notional today per account (50000 used)
    Row("credit-below", CREDIT, {"order_qty": "499"}, None, setup=exposure_50k),
    Row("credit-at", CREDIT, {"order_qty": "500"}, None, setup=exposure_50k),
    Row("credit-above", CREDIT, {"order_qty": "501"}, "credit_limit", setup=exposure_50k,
        text=["50000 + order 50100 = 100100", "limit 100000 (risk.accounts.ACC1)"], reason=LIMIT),
    Row("credit-other-account", CREDIT, {"order_qty": "1000", "account": "ACC2"}, None, setup=exposure_50k),
    # position: worst-case net position per account and instrument (long 600 filled, 200 open)
    Row("position-long-below", POSITION, {"order_qty": "199"}, None, setup=long_600_open_200),
    Row("position-long-at", POSITION, {"order_qty": "200"}, None, setup=long_600_open_200),
    Row("position-long-above", POSITION, {"order_qty": "201"}, "max_position_qty", setup=long_600_open_200,
        text=["long 1001", "limit 1000"], reason=LIMIT),
    Row("position-short-at", POSITION, {"order_qty": "1600", "side": Side.SELL}, None, setup=long_600_open_200),
    Row("position-short-above", POSITION, {"order_qty": "1601", "side": Side.SELL}, "max_position_qty",
        setup=long_600_open_200, text=["short 1001"]),
    # concentration: exposure in one instrument as % of the credit limit (60000 of 1000000 in AAPL)
    Row("concentration-below", CONCENTRATION, {"order_qty": "399"}, None, setup=aapl_60k_and_btc),
    Row("concentration-at", CONCENTRATION, {"order_qty": "400"}, None, setup=aapl_60k_and_btc),
    Row("concentration-above", CONCENTRATION, {"order_qty": "401"}, "max_concentration_pct", setup=aapl_60k_and_btc,
        text=["10.01%", "limit 10%"], reason=LIMIT),
    # duplicate: same account, side, instrument, qty and price within the window
    Row("duplicate-inside-window", DUPLICATE, {"order_qty": "100"}, "duplicate_order",
        setup=sent_seconds_ago(0.999), text=["999 ms ago", "window 1000 ms"], reason=OrdRejReason.DUPLICATE_ORDER),
    Row("duplicate-at-window", DUPLICATE, {"order_qty": "100"}, None, setup=sent_seconds_ago(1.0)),
    Row("duplicate-after-window", DUPLICATE, {"order_qty": "100"}, None, setup=sent_seconds_ago(1.001)),
    Row("duplicate-other-qty", DUPLICATE, {"order_qty": "101"}, None, setup=sent_seconds_ago(0.1)),
    # throttle: orders per EMS session per one-second sliding window
    Row("throttle-below", THROTTLE, {"order_qty": "1"}, None, setup=orders_this_second(3)),
    Row("throttle-at", THROTTLE, {"order_qty": "1"}, None, setup=orders_this_second(4)),
    Row("throttle-above", THROTTLE, {"order_qty": "1"}, "max_orders_per_second", setup=orders_this_second(5),
        text=["order 6", "limit 5 (risk.ems.EMS1)"]),
    Row("throttle-other-session", THROTTLE, {"order_qty": "1"}, None, setup=orders_this_second(5)),
    # market orders per venue
    Row("market-not-allowed", NO_MARKET, {"ord_type": OrdType.MARKET}, "market_order", text=["BRK"]),
    Row("market-limit-order-fine", NO_MARKET, {"price": "100"}, None),
    Row("market-other-venue", NO_MARKET, {"ord_type": OrdType.MARKET, "instrument_id": "BTC/USD",
                                          "order_qty": "1"}, None),
    # new-venue ramp: notional cap until an operator lifts it
    Row("ramp-below", RAMP_CAP, {"order_qty": "99"}, None),
    Row("ramp-at", RAMP_CAP, {"order_qty": "100"}, None),
    Row("ramp-above", RAMP_CAP, {"order_qty": "101"}, "venue_ramp", text=["10100", "10000"], reason=LIMIT),
    Row("ramp-lifted", RAMP_CAP, {"order_qty": "101"}, None, setup=switch(RAMP, "venue:BRK")),
    # kill switch scopes
    Row("kill-global", {}, {}, "kill_switch", setup=switch(KILL, "global"), text=["global", "test: unit test"]),
    Row("kill-venue", {}, {}, "kill_switch", setup=switch(KILL, "venue:BRK")),
    Row("kill-other-venue", {}, {"instrument_id": "BTC/USD", "order_qty": "1"}, None, setup=switch(KILL, "venue:BRK")),
    Row("kill-account", {}, {}, "kill_switch", setup=switch(KILL, "account:ACC1")),
    Row("kill-other-account", {}, {"account": "ACC2"}, None, setup=switch(KILL, "account:ACC1")),
    Row("kill-session", {}, {}, "kill_switch", setup=switch(KILL, "session:EMS1")),
    Row("kill-cleared", {}, {}, None, setup=lambda h: (switch(KILL, "global")(h), h.advance(1),
                                                       switch(KILL, "global", False)(h))),
    # circuit breakers pause their scope until reset
    Row("breaker-instrument", {}, {}, "circuit_breaker", setup=trip_then("keep", "instrument:AAPL"),
        text=["instrument:AAPL", "operator"], reason=OrdRejReason.EXCHANGE_CLOSED),
    Row("breaker-other-instrument", {}, {"instrument_id": "GME"}, None, setup=trip_then("keep", "instrument:AAPL")),
    Row("breaker-venue", {}, {}, "circuit_breaker", setup=trip_then("keep", "venue:BRK")),
    Row("breaker-reset", {}, {}, None, setup=trip_then("reset", "instrument:AAPL")),
]


@pytest.mark.parametrize("row", [row.param() for row in ROWS])
def test_check(row: Row) -> None:
    h = RiskHarness(row.risk)
    row.setup(h)
    session = "EMS2" if row.id == "throttle-other-session" else "EMS1"
    before = h.engine.counters.snapshot()
    fx = h.new(session=session, **row.order)
    report = denial(fx)
    if row.denied_by is None:
        assert report is None, f"denied: {denial_text(fx)}"
        return
    assert report is not None, "not denied"
    text = report.text or ""
    for fragment in row.text:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    if row.reason is not None:
        assert report.ord_rej_reason is row.reason
    # Journaled (the deny event carries the text), counted, and nothing left for the venue.
    assert any(e.event == "deny" and e.detail.get("text") == text for e in fx.events)
    after = h.engine.counters.snapshot()
    assert after.get(f"denied.{row.denied_by}", 0) == before.get(f"denied.{row.denied_by}", 0) + 1
    assert not fx.to_venue


def test_every_check_has_rows_at_below_and_above() -> None:
    names = {row.id.rsplit("-", 1)[0] for row in ROWS if row.id.endswith(("-at", "-below"))}
    assert {"qty", "notional", "credit", "ramp", "throttle", "concentration", "fat-buy", "collar-up",
            "position-long"} <= names


# ---------------------------------------------------------------------- which limit applies


@pytest.mark.parametrize(("risk", "account", "instrument", "allowed", "source"), [
    ({"defaults": {"max_order_qty": "100"}}, "ACC1", "AAPL", "100", "risk.defaults"),
    # an account may be allowed more than the defaults
    ({"defaults": {"max_order_qty": "100"}, "accounts": {"ACC1": {"max_order_qty": "500"}}}, "ACC1", "AAPL", "500",
     "risk.accounts.ACC1"),
    ({"defaults": {"max_order_qty": "100"}, "accounts": {"ACC1": {"max_order_qty": "500"}}}, "ACC2", "AAPL", "100",
     "risk.defaults"),
    # an instrument caps everybody; the smallest specific limit wins
    ({"accounts": {"ACC1": {"max_order_qty": "500"}}, "instruments": {"AAPL": {"max_order_qty": "50"}}}, "ACC1",
     "AAPL", "50", "risk.instruments.AAPL"),
    ({"ems": {"EMS1": {"max_order_qty": "70"}}, "asset_classes": {"equity": {"max_order_qty": "80"}}}, "ACC1",
     "AAPL", "70", "risk.ems.EMS1"),
    ({"asset_classes": {"equity": {"max_order_qty": "80"}}}, "ACC1", "GME", "80", "risk.asset_classes.equity"),
])
def test_limit_resolution(risk: dict[str, Any], account: str, instrument: str, allowed: str, source: str) -> None:
    h = RiskHarness(risk)
    assert h.new(order_qty=allowed, account=account, instrument_id=instrument).to_venue
    text = denial_text(h.new(order_qty=str(int(allowed) + 1), account=account, instrument_id=instrument))
    assert f"limit {allowed} ({source})" in text


def test_a_collar_breach_denies_that_order_only_and_trips_no_breaker() -> None:
    h = RiskHarness(COLLAR)
    fx = h.new(price="87.5", account="ACC1")     # a passive bid 12.5% under the market
    assert "price_collar" in denial_text(fx)
    assert not fx.state and not any(e.order_id == "risk" for e in fx.events)   # no breaker row, no audit event
    assert h.new(price="100", account="ACC2").to_venue      # everybody else still trades the instrument
    assert h.new(price="100", account="ACC1").to_venue
    assert not h.engine.counters.get("alerts.circuit_breaker")


def test_collar_trips_is_no_longer_a_setting() -> None:
    with pytest.raises(ValidationError, match="collar_trips"):
        RiskConfig.model_validate({"breakers": {"collar_trips": True}})


def test_fills_never_move_the_reference() -> None:
    """DESIGN.md invariant 9: an outlier fill (or our own last trade) is not a reference price."""
    h = RiskHarness(COLLAR)
    h.filled_order("10", "100")
    order = h.open_order(order_qty="10", price="104")
    h.fill(order, "10", "104")
    assert h.new(price="110").to_venue
    assert "reference 100 (configured)" in denial_text(h.new(price="114.4"))


def test_disabled_risk_checks_nothing() -> None:
    h = RiskHarness({**QTY, "enabled": False})
    assert h.new(order_qty="5000").to_venue
    assert h.engine.counters.get("checked") == 0


def test_the_throttle_window_is_restored_from_the_orders_journaled_in_the_last_second() -> None:
    """A new HA active (or a restarted gateway) does not start with the whole second's allowance the old one had
    partly spent: the journaled arrivals of the last second count against it."""
    from datetime import timedelta

    h = RiskHarness(THROTTLE)
    recent = [h.now - timedelta(milliseconds=ms) for ms in (900, 700, 500, 300)]
    h.engine.restore_throttle({"EMS1": recent, "EMS2": [h.now - timedelta(seconds=1.5)] * 5,
                               "EMS3": [h.now + timedelta(milliseconds=50)] * 5})  # ahead of our clock: now
    assert denial(h.new(order_qty="1")) is None                     # the 5th of the second
    assert denial_text(h.new(order_qty="2")).startswith("max_orders_per_second")
    h.advance(0.15)                                                 # the arrival 900 ms ago leaves the window
    assert denial(h.new(order_qty="3")) is None
    assert denial(h.new(order_qty="4", session="EMS2")) is None     # older than a second: nothing spent
    assert h.engine._throttle["EMS3"] and len(h.engine._throttle["EMS3"]) == 5
