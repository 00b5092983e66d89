"""Account data from the crypto-PB simulator over loopback: Coinbase Prime balances + entity margin + credit,
Binance cross margin, FalconX balances; the simulator's margin call and liquidation as the price walks down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr
from waiting import wait_until

from fixgw.model.margin import MarginMode, Thresholds, Valuation, account_figures
from fixgw.model.margin_haircuts import AssetRule, MarginTable
from fixgw.model.margin_interest import drift_pct, pb_way
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.binance import account as binance_account
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.binance.http import BinanceHttp
from fixgw.venues.bridge.coinbase_prime import account as coinbase_account
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp
from fixgw.venues.bridge.falconx import account as falconx_account
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.http import FalconXHttp

pytestmark = pytest.mark.timeout(60)
D = Decimal
TABLE = MarginTable({"USD": AssetRule("USD", cash=True), "USDT": AssetRule("USDT", cash=True),
                     "BTC": AssetRule("BTC", haircut=D("0.10"), maintenance=D("0.10"), initial=D("0.20"))})
FAST = {"timeout_s": 2.0, "retry_base_delay_s": 0.01, "retry_max_delay_s": 0.05, "documented_rate": 100,
        "documented_burst": 100}


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def coinbase_http(sim: CryptoPbSimulator, portfolio: str) -> CoinbasePrimeHttp:
    creds = sim.credentials
    return CoinbasePrimeHttp(CoinbasePrimeConfig.model_validate({
        "base_url": sim.coinbase_url, "portfolio_id": portfolio, "access_key": SecretStr(creds.access_key),
        "passphrase": SecretStr(creds.passphrase), "signing_key": SecretStr(creds.signing_key), **FAST}))


def test_coinbase_prime_snapshot_margin_call_and_liquidation(sim: CryptoPbSimulator) -> None:
    sim.reset()
    sim.set_prices({"BTC": "65000"})
    portfolio = f"pf-{uuid.uuid4().hex[:8]}"
    sim.set_margin("coinbase", portfolio, balances={"BTC": "10", "USD": "-450000"}, borrow_rate="0")

    def snapshot() -> coinbase_account.AccountSnapshot:
        async def run() -> coinbase_account.AccountSnapshot:
            http = coinbase_http(sim, portfolio)
            try:
                return await coinbase_account.fetch_snapshot(http, portfolio, datetime.now(UTC))
            finally:
                await http.aclose()
        return asyncio.run(run())

    first = snapshot()
    [pool] = first.account.pools
    lines = {balance.asset: balance for balance in pool.balances}
    assert lines["BTC"].held == D(10) and lines["USD"].borrowed == D(450_000)
    assert D(first.reported["margin_equity"]) == D(200_000)      # 650,000 - 450,000, no haircut
    assert D(first.reported["margin_requirement"]) == D(65_000)
    assert D(first.reported["credit_utilized"]) == D(450_000)
    assert not first.account.margin_call
    valuation = Valuation({"BTC": D(65_000)}, TABLE)
    ours, theirs = pb_way(first.account, valuation, first.reported, "margin_equity")
    assert drift_pct(ours, theirs) == D(0)
    figures = account_figures(first.account, valuation, Thresholds())
    assert figures.total.equity == D(585_000) - D(450_000)        # with our 10% haircut

    sim.set_prices({"BTC": "50400"})            # the simulator's ratio 10 - 450,000 / 50,400 = 1.07: a call
    called = snapshot()
    assert called.account.margin_call and D(called.reported["margin_call_outstanding"]) > 0
    assert sim.margin()["liquidations"] == []

    sim.set_prices({"BTC": "49000"})            # 0.82 < 1.05: the simulator sells half the BTC
    wait_until(lambda: sim.margin()["liquidations"], what="a liquidation")
    liquidation = sim.margin()["liquidations"][0]
    assert (liquidation["side"], D(liquidation["quantity"])) == ("SELL", D(5))
    [order] = [o for o in sim.orders("coinbase")["orders"] if o["client_order_id"].startswith("liquidation-")]
    assert order["status"] == "FILLED"
    after = snapshot()
    assert {b.asset: b.held for b in after.account.pools[0].balances}["BTC"] == D(5)


def test_binance_cross_margin_level_matches_ours_computed_its_way(sim: CryptoPbSimulator) -> None:
    sim.reset()
    sim.set_prices({"BTC": "65000"})
    creds = sim.credentials
    http = BinanceHttp(BinanceConfig(base_url=sim.binance_url, api_key=SecretStr(creds.access_key),
                                     secret_key=SecretStr(creds.signing_key), **FAST))   # type: ignore[arg-type]
    sim.set_margin("binance", creds.access_key, balances={"BTC": "2", "USDT": "-60000"}, borrow_rate="0")

    async def run() -> binance_account.AccountSnapshot:
        try:
            return await binance_account.fetch_snapshot(http, MarginMode.CROSS, datetime.now(UTC))
        finally:
            await http.aclose()

    snapshot = asyncio.run(run())
    assert snapshot.account.currency == "USDT" and snapshot.drift_measure == "margin_level"
    lines = {b.asset: b for b in snapshot.account.pools[0].balances}
    assert lines["BTC"].held == D(2) and lines["USDT"].borrowed == D(60_000)
    ours, theirs = pb_way(snapshot.account, Valuation({"BTC": D(65_000)}, TABLE), snapshot.reported,
                          "margin_level")
    assert theirs == D("2.16666667") and ours is not None
    drift = drift_pct(ours, theirs)
    assert drift is not None and drift < D("0.0001")
    assert snapshot.outside_margin["BTC"] == D(2)     # the simulator's spot wallet is the same book


def test_falconx_balances(sim: CryptoPbSimulator) -> None:
    sim.reset()
    creds = sim.credentials
    http = FalconXHttp(FalconXConfig.model_validate({
        "base_url": sim.falconx_url, "api_key": creds.access_key, "passphrase": creds.passphrase,
        "secret": SecretStr(creds.signing_key), **FAST}))

    async def run() -> falconx_account.AccountSnapshot:
        try:
            return await falconx_account.fetch_snapshot(http, datetime.now(UTC))
        finally:
            await http.aclose()

    snapshot = asyncio.run(run())
    held = {b.asset: b.held for b in snapshot.account.pools[0].balances}
    assert held["USD"] == D(10_000_000) and held["BTC"] == D(1000)
    assert snapshot.drift_measure is None
