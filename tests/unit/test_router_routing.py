"""Routing rules: first match wins, then the default; failover to a backup for new orders only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fixgw.model.enums import AssetClass, ExecType, OrdRejReason, OrdStatus, OrdType, Side
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import CancelOrder, ExecutionEvent, NewOrder, ReplaceOrder
from fixgw.router.book import OrderBook
from fixgw.router.core import EmsPolicy, RouterCore
from fixgw.router.effects import Effects
from fixgw.router.ids import IdFactory
from fixgw.router.routing import RouteDecision, RouteTable
from fixgw.router.rules import RouteMatch, RouteRule, RoutingConfig

D = Decimal


def instrument(instrument_id: str, asset_class: AssetClass) -> Instrument:
    return Instrument(id=instrument_id, asset_class=asset_class, currency="USD", tick_size=D("0.01"),
                      lot_size=D("0.00000001") if asset_class is AssetClass.CRYPTO_SPOT else D("1"))


AAPL = instrument("AAPL", AssetClass.EQUITY)
MSFT = instrument("MSFT", AssetClass.EQUITY)
SPY = instrument("SPY", AssetClass.ETF)
BTC_USD = instrument("BTC/USD", AssetClass.CRYPTO_SPOT)
BTC_USDT = instrument("BTC/USDT", AssetClass.CRYPTO_SPOT)
ETH_BTC = instrument("ETH/BTC", AssetClass.CRYPTO_SPOT)
BOND = instrument("US91282CJL54", AssetClass.FIXED_INCOME)
INSTRUMENTS = {i.id: i for i in (AAPL, MSFT, SPY, BTC_USD, BTC_USDT, ETH_BTC, BOND)}

RULES = [
    RouteRule(name="ems2-everything", match=RouteMatch(ems_session=["EMS2"]), destination="EMS2_BRK"),
    RouteRule(name="hedge-account", match=RouteMatch(account=["HEDGE"]), destination="HEDGE_BRK"),
    RouteRule(name="usd-crypto", match=RouteMatch(symbol="*/USD"), destination="PB_USD"),
    RouteRule(name="crypto", match=RouteMatch(asset_class=[AssetClass.CRYPTO_SPOT]), destination="PB"),
    RouteRule(name="algos", match=RouteMatch(ord_type=[OrdType.TWAP, OrdType.VWAP]), destination="ALGO"),
    RouteRule(name="msft-ems3", match=RouteMatch(ems_session=["EMS3"], instrument=["MSFT"]), destination="MSFT3"),
    RouteRule(name="equities", match=RouteMatch(asset_class=[AssetClass.EQUITY, AssetClass.ETF]),
              destination="BRK", backup="BRK2"),
]
TABLE = RouteTable(RoutingConfig(rules=RULES, default="DEFAULT"))


def select(table: RouteTable = TABLE, *, session: str = "EMS1", account: str | None = "ACC1",
           instrument_id: str = "AAPL", ord_type: OrdType = OrdType.LIMIT,
           down: frozenset[str] = frozenset()) -> RouteDecision:
    return table.select(ems_session=session, account=account, instrument=INSTRUMENTS[instrument_id],
                        ord_type=ord_type, is_connected=lambda venue: venue not in down)


@pytest.mark.parametrize(("query", "destination", "rule"), [
    pytest.param({"session": "EMS2", "account": "HEDGE", "instrument_id": "BTC/USD"}, "EMS2_BRK", "ems2-everything",
                 id="session-rule-first-although-later-ones-match"),
    pytest.param({"account": "HEDGE", "instrument_id": "BTC/USD"}, "HEDGE_BRK", "hedge-account",
                 id="account-before-symbol"),
    pytest.param({"instrument_id": "BTC/USD"}, "PB_USD", "usd-crypto", id="symbol-glob"),
    pytest.param({"instrument_id": "BTC/USDT"}, "PB", "crypto", id="glob-is-anchored"),
    pytest.param({"instrument_id": "ETH/BTC"}, "PB", "crypto", id="asset-class"),
    pytest.param({"instrument_id": "AAPL", "ord_type": OrdType.TWAP}, "ALGO", "algos", id="ord-type"),
    pytest.param({"instrument_id": "AAPL"}, "BRK", "equities", id="equity-limit"),
    pytest.param({"instrument_id": "SPY", "ord_type": OrdType.MARKET}, "BRK", "equities", id="second-asset-class"),
    pytest.param({"session": "EMS3", "instrument_id": "MSFT"}, "MSFT3", "msft-ems3", id="all-criteria-of-a-rule"),
    pytest.param({"session": "EMS3", "instrument_id": "AAPL"}, "BRK", "equities", id="one-criterion-short"),
    pytest.param({"instrument_id": "MSFT"}, "BRK", "equities", id="other-session-skips-session-rule"),
    pytest.param({"account": None, "instrument_id": "AAPL"}, "BRK", "equities", id="no-account"),
    pytest.param({"instrument_id": "US91282CJL54"}, "DEFAULT", None, id="default"),
])
def test_first_matching_rule_wins_then_the_default(query: dict[str, Any], destination: str,
                                                   rule: str | None) -> None:
    decision = select(**query)
    assert (decision.destination, decision.rule, decision.failover) == (destination, rule, False)


@pytest.mark.parametrize(("down", "destination", "failover"), [
    pytest.param(frozenset(), "BRK", False, id="primary-up"),
    pytest.param(frozenset({"BRK"}), "BRK2", True, id="primary-down-backup-up"),
    pytest.param(frozenset({"BRK", "BRK2"}), "BRK", False, id="both-down-stays-primary"),
    pytest.param(frozenset({"BRK2"}), "BRK", False, id="backup-down-irrelevant"),
])
def test_failover_to_the_backup_only_when_the_primary_is_down(down: frozenset[str], destination: str,
                                                              failover: bool) -> None:
    decision = select(instrument_id="AAPL", down=down)
    assert (decision.destination, decision.rule, decision.failover) == (destination, "equities", failover)


def test_a_down_destination_without_backup_does_not_fall_through_to_later_rules_or_the_default() -> None:
    decision = select(instrument_id="BTC/USD", down=frozenset({"PB_USD"}))
    assert (decision.destination, decision.rule) == ("PB_USD", "usd-crypto")


def test_no_matching_rule_and_no_default_means_no_route() -> None:
    table = RouteTable(RoutingConfig(rules=RULES[:1]))
    decision = select(table, instrument_id="AAPL")
    assert (decision.destination, decision.rule) == (None, None)
    assert "no routing rule" in decision.reason


# ---------------------------------------------------------------------------------------------- through the core


class Router:
    def __init__(self, config: RoutingConfig) -> None:
        self.connected = {"BRK": True, "BRK2": True, "PB": True}
        self.book = OrderBook()
        self.core = RouterCore(book=self.book, routes=RouteTable(config), ids=IdFactory(run_id=7),
                               symbols=SymbolMaster(INSTRUMENTS.values()), ems_policies={"EMS1": EmsPolicy()},
                               is_connected=lambda venue: self.connected.get(venue, False))

    def new(self, cl_ord_id: str, instrument_id: str = "AAPL") -> Effects:
        fx = Effects()
        self.core.on_new_order("EMS1", NewOrder(cl_ord_id=cl_ord_id, instrument_id=instrument_id, side=Side.BUY,
                                                order_qty="10", ord_type=OrdType.LIMIT, price="10.00"), fx)
        return fx

    def ack(self, order_id: str) -> None:
        order = self.book.get(order_id)
        assert order is not None and order.venue is not None
        self.core.on_venue_execution(order.venue, ExecutionEvent(
            exec_id=f"A-{order_id}", exec_type=ExecType.NEW, ord_status=OrdStatus.NEW,
            cl_ord_id=order.venue_cl_ord_id, order_id=f"V-{order_id}"), Effects())

    def cancel(self, cl_ord_id: str, orig: str) -> Effects:
        fx = Effects()
        self.core.on_cancel("EMS1", CancelOrder(cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, instrument_id="AAPL",
                                                side=Side.BUY), fx)
        return fx

    def replace(self, cl_ord_id: str, orig: str) -> Effects:
        fx = Effects()
        self.core.on_replace("EMS1", ReplaceOrder(cl_ord_id=cl_ord_id, orig_cl_ord_id=orig, instrument_id="AAPL",
                                                  side=Side.BUY, order_qty="20", ord_type=OrdType.LIMIT,
                                                  price="10.00"), fx)
        return fx


EQUITIES_WITH_BACKUP = RoutingConfig(rules=[
    RouteRule(name="equities", match=RouteMatch(asset_class=[AssetClass.EQUITY]), destination="BRK", backup="BRK2"),
    RouteRule(name="crypto", match=RouteMatch(asset_class=[AssetClass.CRYPTO_SPOT]), destination="PB"),
])


def destinations(fx: Effects) -> list[tuple[str, str]]:
    return [(venue, command.cl_ord_id) for venue, command, _order_id in fx.to_venue]


def test_new_orders_fail_over_but_live_orders_stay_with_the_venue_that_holds_them() -> None:
    router = Router(EQUITIES_WITH_BACKUP)
    assert destinations(router.new("A1")) == [("BRK", "7-1.0")]
    router.ack("7-1")

    router.connected["BRK"] = False
    assert destinations(router.new("B1")) == [("BRK2", "7-2.0")]          # a new order fails over
    router.ack("7-2")
    # The live order at the primary is never moved to the backup: its cancel and replace go to BRK.
    assert destinations(router.cancel("A2", "A1")) == [("BRK", "7-1.1")]
    assert destinations(router.replace("B2", "B1")) == [("BRK2", "7-2.1")]

    router.connected["BRK"] = True                                        # primary back
    assert destinations(router.new("C1")) == [("BRK", "7-3.0")]


def test_failed_over_order_is_cancelled_at_the_backup_after_the_primary_returns() -> None:
    router = Router(EQUITIES_WITH_BACKUP)
    router.connected["BRK"] = False
    assert destinations(router.new("B1")) == [("BRK2", "7-1.0")]
    router.ack("7-1")
    router.connected["BRK"] = True
    assert destinations(router.cancel("B2", "B1")) == [("BRK2", "7-1.1")]


@pytest.mark.parametrize(("config", "instrument_id", "down", "reason", "text"), [
    pytest.param(EQUITIES_WITH_BACKUP, "US91282CJL54", (), OrdRejReason.BROKER_OPTION, "no routing rule",
                 id="no-route"),
    pytest.param(EQUITIES_WITH_BACKUP, "AAPL", ("BRK", "BRK2"), OrdRejReason.EXCHANGE_CLOSED, "BRK",
                 id="primary-and-backup-down"),
    pytest.param(RoutingConfig(default="PB"), "AAPL", ("PB",), OrdRejReason.EXCHANGE_CLOSED, "PB",
                 id="default-down"),
])
def test_an_order_without_an_available_route_is_denied(config: RoutingConfig, instrument_id: str,
                                                       down: tuple[str, ...], reason: OrdRejReason,
                                                       text: str) -> None:
    router = Router(config)
    for venue in down:
        router.connected[venue] = False
    fx = router.new("C1", instrument_id)
    assert fx.to_venue == []
    [(_session, report, _order_id)] = fx.to_ems
    assert isinstance(report, ExecutionEvent)
    assert (report.exec_type, report.ord_status, report.ord_rej_reason) == (ExecType.REJECTED, OrdStatus.DENIED,
                                                                           reason)
    assert text in (report.text or "")


def test_default_route_takes_orders_no_rule_matches() -> None:
    router = Router(RoutingConfig(rules=EQUITIES_WITH_BACKUP.rules, default="PB"))
    assert destinations(router.new("C1", "US91282CJL54")) == [("PB", "7-1.0")]
