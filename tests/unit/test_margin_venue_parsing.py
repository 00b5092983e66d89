"""Venue account-data answers (shaped as in the venues' API references) read into margin snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fixgw.model.margin import MarginMode
from fixgw.venues.bridge.binance.account import parse_cross, parse_isolated
from fixgw.venues.bridge.coinbase_prime.account import parse_snapshot as coinbase_snapshot
from fixgw.venues.bridge.common.errors import VenueProtocolError
from fixgw.venues.bridge.falconx.account import parse_snapshot as falconx_snapshot
from fixgw.venues.bridge.falconx.schemas import Balance as FalconXBalance

D = Decimal
NOW = datetime(2026, 12, 7, tzinfo=UTC)

COINBASE_MARGIN = {"margin_information": {
    "margin_call_records": [{"margin_call_id": "c1", "initial_notional_amount": "123.45",
                             "outstanding_notional_amount": "122.45", "created_at": "2023-01-01T00:00:00Z",
                             "due_at": "2023-01-01T00:00:00.000Z"}],
    "margin_summary": {
        "entity_id": "e1", "margin_equity": "2539231.5903575355", "margin_requirement": "15131.725279884091",
        "excess_deficit": "2524099.865077651", "pm_credit_consumed": "10000", "tf_credit_limit": "2000000",
        "tf_credit_consumed": "20000", "frozen": False, "frozen_reason": "", "tf_enabled": True, "pm_enabled": True,
        "market_rates": [{"symbol": "BTC", "rate": "27,123"}],
        "asset_balances": [{"portfolio_id": "p1", "symbol": "BTC", "amount": "4000", "notional_amount": "4000",
                            "conversion_rate": "1000"}],
        "tf_loans": [{"portfolio_id": "p1", "symbol": "USD", "amount": "150000", "notional_amount": "150000",
                      "due_date": "1000"}],
        "pm_loans": [{"portfolio_id": "p1", "symbol": "ETH", "amount": "2", "notional_amount": "7000",
                      "due_date": "1000"}],
        "short_collateral": []}}}
CREDIT = {"post_trade_credit": {"portfolio_id": "p1", "currency": "USD", "limit": "100000", "utilized": "4000",
                                "available": "96000", "frozen": True, "frozen_reason": "Portfolio frozen manually",
                                "amounts_due": [], "enabled": True}}


def test_coinbase_prime_balances_margin_and_credit() -> None:
    balances = {"balances": [{"symbol": "btc", "amount": "10", "holds": "0"},
                             {"symbol": "usd", "amount": "-5", "holds": "0"}], "type": "TRADING_BALANCES"}
    snapshot = coinbase_snapshot("cbp", NOW, balances, COINBASE_MARGIN, CREDIT)
    lines = {b.asset: b for b in snapshot.account.pools[0].balances}
    assert lines["BTC"].held == D(10) and lines["USD"].borrowed == D(150_000)   # loans, not the negative balance
    assert lines["ETH"].borrowed == D(2) and lines["ETH"].held == 0
    assert snapshot.account.margin_call and snapshot.reported["margin_call_outstanding"] == "122.45"
    assert snapshot.reported["margin_equity"] == "2539231.5903575355"
    assert snapshot.reported["credit_available"] == "96000"
    assert snapshot.reported["credit_frozen"] == "Portfolio frozen manually"
    assert snapshot.marks == {"BTC": D(27_123)} and snapshot.drift_measure == "margin_equity"


def test_coinbase_prime_without_margin_products_counts_negative_balances_as_loans() -> None:
    snapshot = coinbase_snapshot("cbp", NOW, {"balances": [{"symbol": "usd", "amount": "-5"}]}, None, {})
    [usd] = snapshot.account.pools[0].balances
    assert (usd.held, usd.borrowed) == (D(0), D(5)) and snapshot.drift_measure is None


def test_coinbase_prime_unreadable_amount_is_a_protocol_error() -> None:
    with pytest.raises(VenueProtocolError, match="amount"):
        coinbase_snapshot("cbp", NOW, {"balances": [{"symbol": "usd", "amount": "x"}]}, None, None)


def test_binance_cross_margin_account() -> None:
    answer = {"borrowEnabled": True, "marginLevel": "11.64405625", "totalAssetOfBtc": "6.82728457",
              "totalLiabilityOfBtc": "0.58633215", "totalNetAssetOfBtc": "6.24095242",
              "TotalCollateralValueInUSDT": "5.82728457", "accountType": "MARGIN_1", "tradeEnabled": True,
              "transferEnabled": True,
              "userAssets": [{"asset": "BTC", "borrowed": "0.00000000", "free": "0.00499500", "interest": "0",
                              "locked": "0.00000000", "netAsset": "0.00499500"},
                             {"asset": "BNB", "borrowed": "201.66666672", "free": "2346.50000000",
                              "interest": "0.00000000", "locked": "0.00000000", "netAsset": "2144.83333328"},
                             {"asset": "ETH", "borrowed": "0", "free": "0", "interest": "0", "locked": "0",
                              "netAsset": "0"}]}
    spot = {"balances": [{"asset": "BTC", "free": "1", "locked": "0.5"}, {"asset": "LTC", "free": "0",
                                                                          "locked": "0"}]}
    snapshot = parse_cross("binance", NOW, answer, spot)
    lines = {b.asset: b for b in snapshot.account.pools[0].balances}
    assert set(lines) == {"BTC", "BNB"} and lines["BNB"].borrowed == D("201.66666672")
    assert snapshot.reported["margin_level"] == "11.64405625" and snapshot.drift_measure == "margin_level"
    assert snapshot.account.currency == "USDT" and snapshot.outside_margin == {"BTC": D("1.5")}


def test_binance_isolated_margin_pairs_are_pools_and_a_margin_call_is_seen() -> None:
    side = {"asset": "BTC", "borrowEnabled": True, "borrowed": "0.1", "free": "1", "interest": "0.001",
            "locked": "0", "netAsset": "0.899", "netAssetOfBtc": "0.899", "repayEnabled": True, "totalAsset": "1"}
    quote = {**side, "asset": "USDT", "borrowed": "0", "free": "5000", "interest": "0", "netAsset": "5000"}
    answer = {"assets": [
        {"symbol": "BTCUSDT", "isolatedCreated": True, "marginLevel": "2.5", "marginLevelStatus": "EXCESSIVE",
         "marginRatio": "10", "indexPrice": "60000", "liquidatePrice": "1000", "liquidateRate": "1.1",
         "tradeEnabled": True, "baseAsset": side, "quoteAsset": quote},
        {"symbol": "ETHUSDT", "isolatedCreated": True, "marginLevel": "1.1", "marginLevelStatus": "MARGIN_CALL",
         "baseAsset": {**side, "asset": "ETH"}, "quoteAsset": quote}],
        "totalAssetOfBtc": "1", "totalLiabilityOfBtc": "0.1", "totalNetAssetOfBtc": "0.9"}
    snapshot = parse_isolated("binance", NOW, answer, None)
    assert snapshot.account.mode is MarginMode.ISOLATED and [p.name for p in snapshot.account.pools] == [
        "BTCUSDT", "ETHUSDT"]
    btc = snapshot.account.pools[0].balances[0]
    assert (btc.held, btc.borrowed, btc.interest) == (D(1), D("0.1"), D("0.001"))
    assert snapshot.account.margin_call and snapshot.reported["ETHUSDT.marginLevelStatus"] == "MARGIN_CALL"


def test_falconx_balances_net_per_token() -> None:
    rows = [FalconXBalance.model_validate({"balance": D("187.62"), "token": "USD", "platform": "api"}),
            FalconXBalance.model_validate({"balance": D("-0.5"), "token": "btc", "platform": "margin"})]
    snapshot = falconx_snapshot("fx", NOW, rows)
    lines = {b.asset: b for b in snapshot.account.pools[0].balances}
    assert lines["USD"].held == D("187.62") and lines["BTC"].borrowed == D("0.5")
