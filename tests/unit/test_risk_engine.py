"""The risk engine beyond single checks: replaces, kill-switch cancels, breakers, slippage, persistence, restore."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from risk_harness import T0, RiskHarness, denial_text

from fixgw.config import parse_config
from fixgw.model.enums import CxlRejResponseTo, OrdStatus, OrdType
from fixgw.model.orders import CancelOrder, CancelRejectEvent
from fixgw.model.state import Order
from fixgw.risk.checks import RiskChecks
from fixgw.risk.control import RiskControl, read_switches, write_switch
from fixgw.risk.settings import RiskConfig
from fixgw.risk.switches import BREAKER, KILL, RAMP, Switch, SwitchBoard, new_switch, parse_scope
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects
from fixgw.store.journal import Journal

D = Decimal


def cancel_reject(fx: Effects) -> CancelRejectEvent | None:
    found = [report for _s, report, _o in fx.to_ems if isinstance(report, CancelRejectEvent)]
    return found[0] if found else None


# ---------------------------------------------------------------------- replaces


def test_replace_is_checked_on_its_new_terms() -> None:
    h = RiskHarness({"defaults": {"max_order_qty": "1000"}})
    order = h.open_order(order_qty="500")
    fx = h.replace(order, "1001", "100")
    reject = cancel_reject(fx)
    assert reject is not None and reject.response_to is CxlRejResponseTo.REPLACE
    assert "max_order_qty: order qty 1001 exceeds limit 1000" in (reject.text or "")
    assert not fx.to_venue and order.status is OrdStatus.NEW and order.order_qty == 500
    assert h.engine.counters.get("denied.max_order_qty") == 1
    assert h.replace(order, "1000", "100").to_venue


def test_replace_counts_only_the_increase_against_credit() -> None:
    h = RiskHarness({"accounts": {"ACC1": {"credit_limit": "100000"}}})
    order = h.open_order(order_qty="600", price="100")       # 60000 used
    h.open_order(order_qty="300", price="100")               # 90000 used
    assert h.replace(order, "700", "100").to_venue           # +10000 -> 100000: at the limit
    h.report(order, *_replaced())
    fx = h.replace(order, "701", "100")                      # +100 over
    assert "credit_limit" in (cancel_reject(fx).text or "")  # type: ignore[union-attr]


def _replaced() -> tuple[Any, Any]:
    from fixgw.model.enums import ExecType

    return ExecType.REPLACED, OrdStatus.NEW


def test_a_pending_replace_holds_the_larger_terms() -> None:
    h = RiskHarness({"accounts": {"ACC1": {"credit_limit": "100000"}}})
    order = h.open_order(order_qty="500", price="100")
    assert h.replace(order, "900", "100").to_venue             # pending: 90000 held until the venue answers
    assert "credit_limit" in denial_text(h.new(order_qty="101", price="100"))
    assert h.new(order_qty="100", price="100").to_venue


def test_a_pure_reduction_passes_even_under_a_kill_switch() -> None:
    h = RiskHarness()
    order = h.open_order(order_qty="500")
    h.call(h.engine.set_switch, new_switch(KILL, "global", True, who="ops", reason="halt"), h.core)
    assert h.replace(order, "400", "100").to_venue
    h.report(order, *_replaced())
    fx = h.replace(order, "400", "100.5")                      # a new price is not a reduction
    assert "kill switch" in (cancel_reject(fx).text or "")     # type: ignore[union-attr]


def test_replace_into_a_market_order_at_a_venue_without_them() -> None:
    h = RiskHarness({"venues": {"BRK": {"allow_market_orders": False}},
                     "instruments": {"AAPL": {"reference_price": "100"}}})
    order = h.open_order(order_qty="500")
    fx = h.replace(order, "500", None, ord_type=OrdType.MARKET)
    assert "market orders are not allowed" in (cancel_reject(fx).text or "")  # type: ignore[union-attr]


# ---------------------------------------------------------------------- kill switch


def _kill(h: RiskHarness, scope: str, *, cancel_open: bool = True, active: bool = True) -> Effects:
    return h.call(h.engine.set_switch, new_switch(KILL, scope, active, who="alice", reason="runaway algo",
                                                  cancel_open=cancel_open), h.core)


def test_kill_with_cancel_open_cancels_every_open_order_in_scope() -> None:
    h = RiskHarness()
    acc1 = [h.open_order(order_qty=str(100 + i)) for i in range(3)]
    partly = h.open_order(order_qty="200")
    h.fill(partly, "50", "100")
    other = h.open_order(account="ACC2")
    fx = _kill(h, "account:ACC1")
    cancels = {order_id for _v, command, order_id in fx.to_venue if isinstance(command, CancelOrder)}
    assert cancels == {o.order_id for o in [*acc1, partly]}
    assert other.status is OrdStatus.NEW
    assert all(o.status is OrdStatus.PENDING_CANCEL for o in acc1)
    assert fx.state["risk.kill:account:ACC1"] and any(e.event == "kill_set" and e.detail["who"] == "alice"
                                                      for e in fx.events)
    assert h.engine.counters.get("kill_cancels") == 4 and h.engine.counters.get("alerts.kill_switch") == 1
    # Nothing is sent twice while the cancels are pending; new orders in scope are refused.
    assert not h.tick().to_venue
    assert "kill switch in force for account:ACC1 (set by alice: runaway algo)" in denial_text(h.new())


def test_kill_sweep_catches_an_order_acknowledged_later_and_retries_a_refused_cancel() -> None:
    h = RiskHarness()
    assert h.new().to_venue
    unknown = h.last_order()
    h.call(h.core.on_venue_outcome_unknown, "BRK", unknown.venue_cl_ord_ids[-1], "NewOrder", "timeout")
    assert unknown.status is OrdStatus.UNKNOWN
    live = h.open_order()
    fx = _kill(h, "venue:BRK")
    assert [order_id for _v, _c, order_id in fx.to_venue] == [live.order_id]   # UNKNOWN: not cancellable yet
    h.ack(unknown)                                          # settled: the next sweep cancels it
    assert [order_id for _v, _c, order_id in h.tick().to_venue] == [unknown.order_id]
    # The venue refuses the cancel of `live`: retried at the next tick, at most three times in all.
    for attempt in range(2):
        h.call(h.core.on_venue_cancel_reject, "BRK", CancelRejectEvent(
            cl_ord_id=live.venue_cl_ord_ids[-1], ord_status=OrdStatus.NEW, response_to=CxlRejResponseTo.CANCEL))
        assert [o for _v, _c, o in h.tick().to_venue] == [live.order_id], attempt
    h.call(h.core.on_venue_cancel_reject, "BRK", CancelRejectEvent(
        cl_ord_id=live.venue_cl_ord_ids[-1], ord_status=OrdStatus.NEW, response_to=CxlRejResponseTo.CANCEL))
    assert not h.tick().to_venue


def test_kill_without_cancel_open_only_blocks() -> None:
    h = RiskHarness()
    order = h.open_order()
    fx = _kill(h, "global", cancel_open=False)
    assert not fx.to_venue and order.status is OrdStatus.NEW
    h.advance(1)
    _kill(h, "global", active=False)
    assert h.new().to_venue


# ---------------------------------------------------------------------- circuit breakers and slippage


def test_a_burst_of_venue_errors_trips_the_venue() -> None:
    h = RiskHarness({"breakers": {"error_burst": 3, "error_window_seconds": 10}})
    for _ in range(2):
        h.engine.on_venue_error("BRK", "KeyError('x')")
        h.advance(4)
    assert h.new().to_venue
    h.advance(3)                                    # the first error is now 11 s old: out of the window
    h.engine.on_venue_error("BRK", "KeyError('y')")
    assert h.new().to_venue
    h.engine.on_venue_error("BRK", "KeyError('z')")
    fx = h.new()
    assert "circuit breaker tripped for venue:BRK (3 errors in 10s" in denial_text(fx)
    assert "risk.breaker:venue:BRK" in fx.state    # the trip is journaled with the next pass
    assert h.new(instrument_id="BTC/USD", order_qty="1").to_venue   # PB is another venue


def test_outcome_unknown_counts_as_a_venue_error() -> None:
    h = RiskHarness({"breakers": {"error_burst": 2}})
    for _ in range(2):
        assert h.new().to_venue
        order = h.last_order()
        h.call(h.core.on_venue_outcome_unknown, "BRK", order.venue_cl_ord_ids[-1], "NewOrder", "timeout")
    assert "circuit breaker" in denial_text(h.new())


def test_a_spike_in_the_reject_rate_trips_the_venue_and_a_reset_starts_afresh() -> None:
    h = RiskHarness({"breakers": {"reject_rate_pct": "50", "reject_min_orders": 4, "reject_window_seconds": 60}})

    def answer(rejected: bool) -> None:
        fx = h.new()
        assert fx.to_venue, denial_text(fx)
        order = h.last_order()
        (h.reject if rejected else h.ack)(order)

    for rejected in (True, False, True, False):       # 2 of 4: not above 50%
        answer(rejected)
    answer(True)                                      # 3 of 5
    assert "reject rate 3/5" in denial_text(h.new())
    h.advance(1)
    h.call(h.engine.set_switch, new_switch(BREAKER, "venue:BRK", False, who="ops", reason="venue fixed"), h.core)
    answer(True)                                      # 1 of 1 after the reset: too few to count
    assert h.new().to_venue


def test_a_fill_far_away_trips_nothing_and_a_venue_price_jump_trips_the_instrument() -> None:
    h = RiskHarness({"breakers": {"price_jump_pct": "20"}, "defaults": {"price_collar_pct": 0}})
    h.call(lambda _fx: h.engine.note_price("AAPL", D("100"), "venue"))
    h.filled_order("10", "100")
    order = h.open_order(price="143")
    h.fill(order, "10", "143")                        # an outlier fill: not a price jump, not a reference
    assert h.new(price="119").to_venue
    h.call(lambda _fx: h.engine.note_price("AAPL", D("119"), "venue"))   # 19% from 100
    assert h.new(price="119").to_venue
    h.call(lambda _fx: h.engine.note_price("AAPL", D("143"), "venue"))   # 20.17% from 119
    assert "price jump: venue 143" in denial_text(h.new(price="143"))
    assert h.engine.counters.get("alerts.circuit_breaker") == 1


def test_venue_prices_feed_the_reference() -> None:
    h = RiskHarness({"breakers": {"price_jump_pct": "20"}})
    h.call(lambda _fx: h.engine.note_price("AAPL", D("200"), "venue"))
    assert "reference 200 (venue)" in denial_text(h.new(price="221"))


def test_slippage_of_a_market_order_raises_an_alert() -> None:
    h = RiskHarness({"instruments": {"AAPL": {"reference_price": "100"}}, "slippage_alert_bps": "50"})
    alerts: list[Any] = []
    h.engine.alerts.sinks.append(alerts.append)
    order = h.open_order(ord_type=OrdType.MARKET, order_qty="10")
    h.fill(order, "5", "100.5")                       # 50 bps: not above the threshold
    assert alerts == []
    h.fill(order, "5", "100.51")                      # 51 bps worse for a buy
    (alert,) = alerts
    assert alert.kind == "slippage" and alert.detail["order_id"] == order.order_id and "51 bps" in alert.message
    sell = h.open_order(ord_type=OrdType.MARKET, order_qty="10", side="2")
    h.fill(sell, "10", "101")                         # a sell above the reference is better, not worse
    assert len(alerts) == 1


def test_an_alert_sink_that_raises_does_not_stop_the_router() -> None:
    h = RiskHarness({"instruments": {"AAPL": {"reference_price": "100"}}, "breakers": {"price_jump_pct": "20"}})

    def broken(_alert: object) -> None:
        raise RuntimeError("webhook down")

    h.engine.alerts.sinks.append(broken)
    h.call(lambda _fx: h.engine.note_price("AAPL", D("150"), "venue"))    # trips instrument:AAPL
    assert "circuit breaker tripped" in denial_text(h.new(price="150"))
    assert h.engine.counters.get("alerts.circuit_breaker") == 1


# ---------------------------------------------------------------------- exposure bookkeeping


def test_exposure_follows_fills_busts_cancels_and_the_day() -> None:
    h = RiskHarness({"accounts": {"ACC1": {"credit_limit": "100000"}}})
    order = h.open_order(order_qty="500", price="100")
    h.fill(order, "200", "100")
    assert h.engine.exposure.account("ACC1").used == 50000      # 30000 open + 20000 filled
    from fixgw.model.enums import ExecType

    h.report(order, ExecType.TRADE_CANCEL, OrdStatus.NEW, exec_ref_id="V2")
    assert h.engine.exposure.account("ACC1").used == 50000      # the busted 200 are open again
    h.report(order, ExecType.CANCELED, OrdStatus.CANCELED)
    assert h.engine.exposure.account("ACC1").used == 0
    filled = h.filled_order("300", "100")
    assert h.engine.exposure.account("ACC1").used == 30000
    h.advance(24 * 3600)                                        # a new UTC day
    h.tick()
    assert h.engine.exposure.account("ACC1").used == 0 and filled.status is OrdStatus.FILLED


def test_restore_rebuilds_exposure_prices_and_switches() -> None:
    h = RiskHarness()
    h.open_order(order_qty="300", price="100")
    h.filled_order("200", "101")
    config = RiskConfig.model_validate({"accounts": {"ACC1": {"credit_limit": "100000"}}})
    kill = new_switch(KILL, "account:ACC2", True, who="ops", reason="r", at=T0)
    engine = RiskChecks(config, clock=lambda: T0)
    engine.restore(h.book, [kill])
    assert engine.exposure.account("ACC1").used == 30000 + 20200
    assert engine.market.price("AAPL") is None                   # our fills are not a reference
    assert engine.switches.kill_for("EMS1", "ACC2", "BRK") == kill


# ---------------------------------------------------------------------- switches and their rows


@pytest.mark.parametrize(("text", "scope"), [("global", "global"), ("venue:BRK", "venue:BRK"),
                                              ("ems:EMS1", "session:EMS1"), ("ems_session:E", "session:E"),
                                              (" account:ACC 1 ", "account:ACC 1")])
def test_parse_scope(text: str, scope: str) -> None:
    assert parse_scope(text) == scope


@pytest.mark.parametrize("text", ["", "planet:x", "venue:", "global:x", "venue:" + "x" * 200])
def test_parse_scope_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_scope(text)


def test_switch_rows_round_trip_and_newest_wins() -> None:
    set_at = new_switch(KILL, "venue:BRK", True, who="a", reason="r", cancel_open=True, at=T0)
    assert Switch.from_json(set_at.to_json()) == set_at
    board = SwitchBoard()
    cleared = new_switch(KILL, "venue:BRK", False, who="b", reason="ok", at=T0 + timedelta(seconds=1))
    assert board.apply(cleared) and not board.apply(set_at)     # an older row does not undo a newer one
    assert board.kill_for("S", "A", "BRK") is None
    assert not board.apply(cleared)                              # the same row again: no change
    with pytest.raises(ValueError, match="who and reason"):
        new_switch(KILL, "global", True, who=" ", reason="r")
    with pytest.raises(ValueError):
        new_switch(RAMP, "account:A", True, who="w", reason="r")


def test_journal_rows_reach_a_running_gateway_and_survive_a_restart(journal_url: str) -> None:
    config = parse_config({"name": "gw1", "journal": {"url": journal_url}})
    calls: list[Callable[[RouterCore, Effects], object]] = []

    class Runner:
        def call(self, function: Callable[[RouterCore, Effects], object]) -> None:
            calls.append(function)

    with Journal(journal_url) as journal:
        h = RiskHarness()
        order = h.open_order()
        control = RiskControl(config, journal, h.book)
        control.start(Runner(), h.core)
        control.stop()                                            # polled by hand below
        write_switch(journal, new_switch(KILL, "global", True, who="cli", reason="test", cancel_open=True))
        assert journal.state_with_prefix("risk.") and journal.state_with_prefix("risk.kill:global")
        assert journal.state_with_prefix("risk_") == {}                # LIKE wildcards are escaped
        control.poll_once()
        fx = h.core.effects()
        for call in calls:
            call(h.core, fx)
        assert [order_id for _v, _c, order_id in fx.to_venue] == [order.order_id]
        assert control.checks.switches.kill_for("EMS1", None, "BRK") is not None
        # A fresh gateway restores it before it takes orders.
        again = RiskControl(config, journal, [])
        assert again.checks.switches.kill_for("X", None, "Y") is not None
        assert [s.scope for s in read_switches(journal)] == ["global"]
        events = list(journal.iter_events(order_id="risk"))
        assert [(e.event, e.detail["who"]) for e in events] == [("kill_set", "cli")]
        state = again.risk_state()
        assert state.kill_switches[0].scope == "global" and state.kill_switches[0].engaged


def test_risk_controls_for_the_admin_api() -> None:
    h = RiskHarness({"instruments": {"AAPL": {"reference_price": "100"}}, "breakers": {"price_jump_pct": "20"}})
    config = parse_config({"name": "gw"})

    class NoJournal:
        def state_with_prefix(self, _prefix: str) -> dict[str, str]:
            return {}

        def iter_messages(self, **_filters: Any) -> list[Any]:
            return []

    control = RiskControl(config, NoJournal(), [])  # type: ignore[arg-type]
    control.checks = h.engine
    control._core = h.core
    fx = h.core.effects()
    state = control.set_kill_switch(fx, scope="ems_session", target="EMS1", engaged=True, cancel_open=False,
                                    actor="admin", reason="api")
    assert [(k.scope, k.target, k.engaged, k.actor) for k in state.kill_switches] == [
        ("ems_session", "EMS1", True, "admin")]
    assert "kill switch" in denial_text(h.new())
    h.call(lambda _fx: h.engine.note_price("AAPL", D("150"), "venue"))    # trips instrument:AAPL
    with pytest.raises(ValueError):
        control.reset_breaker(fx, name="instrument:MSFT", actor="a", reason="r")
    state = control.reset_breaker(fx, name="instrument:AAPL", actor="admin", reason="checked")
    assert [(b.name, b.tripped) for b in state.breakers] == [("instrument:AAPL", False)]


def _order_ids(orders: list[Order]) -> list[str]:
    return [o.order_id for o in orders]


def test_a_venue_price_stamped_by_a_clock_running_ahead_does_not_freeze_the_reference() -> None:
    """[field] 15: prices are ordered by our receive time; a venue clock 45 s ahead must not make its price outrank
    the later ones (which then looked like a 10% jump from a frozen reference). Fills never move it at all."""
    h = RiskHarness({"breakers": {"price_jump_pct": "10"}, "defaults": {"price_collar_pct": 0}})
    ahead = h.now + timedelta(seconds=45)   # the venue's clock is 45 s ahead of ours
    h.engine.note_price("AAPL", D("100"), "venue", ahead)
    first = h.engine._reference("AAPL")
    assert first is not None and first.value == D("100")
    for price in ("104", "108", "110", "110.05"):   # the market moves on, stamped by our clock; the last step is 0.05%
        h.advance(1)
        h.engine.note_price("AAPL", D(price), "venue")
    h.filled_order("10", "150")   # an outlier fill of ours: not a reference price
    reference = h.engine._reference("AAPL")
    assert reference is not None and reference.value == D("110.05")
    assert not h.engine.counters.get("alerts.circuit_breaker")


def test_recent_arrivals_are_the_orders_and_replaces_journaled_within_the_window(journal_url: str) -> None:
    from datetime import UTC, datetime

    from fixgw.risk.control import recent_arrivals
    from fixgw.store import JournalBatch, MessageRecord

    now = datetime.now(UTC)
    ms = timedelta(milliseconds=1)
    rows = [("EMS1", "in", "D", now - 200 * ms), ("EMS1", "in", "G", now - 100 * ms), ("EMS1", "in", "F", now),
            ("EMS1", "out", "8", now), ("EMS2", "in", "D", now - 30_000 * ms), ("EMS2", "in", "D", now - 50 * ms)]
    with Journal(journal_url) as journal:
        journal.write(JournalBatch(messages=[MessageRecord(s, d, t, f"35={t}", at, seq_num=n)
                                             for n, (s, d, t, at) in enumerate(rows, 1)]))
        assert recent_arrivals(journal, window_s=5.0) == {"EMS1": [rows[0][3], rows[1][3]], "EMS2": [rows[5][3]]}
