"""FalconX v1 and v3 at once, against the simulator serving both: fallback when the simulator withdraws a
version of an endpoint (404 or 410), the re-check, an account switched to v3 while others stay on v1, and both
versions in one gateway behind a FIX EMS session (two accounts, one on each)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import Recorder, new_order, symbol_master
from gateway_stack import WAIT, report
from gateway_stack import new_order as fix_order
from pydantic import SecretStr
from waiting import wait_until

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.model.enums import OrdStatus, OrdType
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.sim.fix_client import FixClient
from fixgw.venues.bridge.common.errors import VenueNotFound
from fixgw.venues.bridge.common.execution import RestExecutionClient
from fixgw.venues.bridge.falconx.config import FalconXConfig
from fixgw.venues.bridge.falconx.execution import FalconXAdapter, falconx_venue
from fixgw.venues.bridge.falconx.http import FalconXHttp
from fixgw.venues.bridge.falconx.schemas import (
    ExecuteQuoteRequest,
    OrderRequest,
    Quantity,
    QuoteRequest,
    TokenPair,
)
from fixgw.venues.registry import venue_stats

pytestmark = pytest.mark.timeout(60)
ETH_USD = TokenPair(base_token="ETH", quote_token="USD")
ENV = {"api_key": "FIXGW_TEST_FX_KEY", "passphrase": "FIXGW_TEST_FX_PASSPHRASE", "secret": "FIXGW_TEST_FX_SECRET"}


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


@pytest.fixture
def fresh(sim: CryptoPbSimulator) -> CryptoPbSimulator:
    sim.reset()  # also restores every withdrawn route
    return sim


def settings(sim: CryptoPbSimulator, **section: Any) -> dict[str, Any]:
    return {"base_url": sim.falconx_url, "poll_interval_s": 0.1, "timeout_s": 2.0, "retry_base_delay_s": 0.01,
            "retry_max_delay_s": 0.05, "documented_rate": 100, "documented_burst": 100, **section}


def make_config(sim: CryptoPbSimulator, **section: Any) -> FalconXConfig:
    creds = sim.credentials
    return FalconXConfig.model_validate({"api_key": creds.access_key, "passphrase": creds.passphrase,
                                         "secret": SecretStr(creds.signing_key), **settings(sim, **section)})


def served(sim: CryptoPbSimulator, prefix: str = "falconx.order_") -> dict[str, int]:
    return {route: n for route, n in sim.request_counts().items() if route.startswith(prefix) and n}


def running(sim: CryptoPbSimulator, **section: Any) -> tuple[RestExecutionClient, Recorder]:
    client = falconx_venue(make_config(sim, **section), symbol_master(), lookup_delay_s=0.05)
    recorder = Recorder()
    client.bind(recorder)
    client.start()
    return client, recorder


def market(client: RestExecutionClient, recorder: Recorder, cl_ord_id: str, account: str | None = None) -> None:
    client.send_new(new_order(cl_ord_id, ord_type=OrdType.MARKET, qty="0.1", instrument="ETH/USD", account=account))
    wait_until(lambda: recorder.last_status(cl_ord_id) in (OrdStatus.FILLED, OrdStatus.REJECTED),
               what=f"{cl_ord_id} answered")


def adapter(client: RestExecutionClient) -> FalconXAdapter:
    assert isinstance(client.adapter, FalconXAdapter)
    return client.adapter


@pytest.mark.parametrize("status", [404, 410])
def test_a_withdrawn_v3_order_endpoint_falls_back_to_v1_and_stays_there(fresh: CryptoPbSimulator,
                                                                        status: int) -> None:
    fresh.withdraw("falconx.order_v3", status)
    client, recorder = running(fresh, api_versions=["v3", "v1"])
    try:
        for n in range(3):
            market(client, recorder, f"wd-{n}")
            assert recorder.last_status(f"wd-{n}") is OrdStatus.FILLED
        # v3 was asked once; its answer is remembered for api_version_recheck_s, so the next orders go to v1.
        assert served(fresh) == {"falconx.order_v3": 1, "falconx.order_v1": 3}
        assert fresh.orders("falconx")["counts"] == {f"wd-{n}": 1 for n in range(3)}
        stats = adapter(client).api_versions.stats()
        assert stats.withdrawn == {("create_order", "v3"): status}
        assert stats.fallbacks == {("create_order", "v3", "v1"): 1}
        assert stats.calls[("create_order", "v1")] == 3
    finally:
        client.stop()


async def test_the_preferred_version_is_asked_again_after_the_recheck(fresh: CryptoPbSimulator) -> None:
    http = FalconXHttp(make_config(fresh, api_versions=["v3", "v1"], api_version_recheck_s=60))
    now = [1000.0]
    http.versions.clock = lambda: now[0]
    order = OrderRequest(token_pair=ETH_USD, quantity=Quantity(token="ETH", value=Decimal("0.1")), side="buy",
                         order_type="market", client_order_id="rc-1")
    try:
        fresh.withdraw("falconx.order_v3", 410)
        await http.place_order(order)
        fresh.restore("falconx.order_v3")
        await http.place_order(order.model_copy(update={"client_order_id": "rc-2"}))  # still remembered: v1
        assert served(fresh) == {"falconx.order_v3": 1, "falconx.order_v1": 2}
        now[0] += 60
        await http.place_order(order.model_copy(update={"client_order_id": "rc-3"}))
        await http.place_order(order.model_copy(update={"client_order_id": "rc-4"}))
        assert served(fresh) == {"falconx.order_v3": 3, "falconx.order_v1": 2}
        assert http.versions.stats().withdrawn == {}
    finally:
        await http.aclose()


async def test_a_quote_unknown_everywhere_is_not_found_but_a_withdrawn_execute_falls_back(
        fresh: CryptoPbSimulator) -> None:
    http = FalconXHttp(make_config(fresh, api_versions=["v3", "v1"]))
    try:
        with pytest.raises(VenueNotFound):
            await http.execute_quote(ExecuteQuoteRequest(fx_quote_id="no-such-quote", side="buy"))
        assert served(fresh, "falconx.execute_") == {"falconx.execute_v3": 1, "falconx.execute_v1": 1}
        assert http.versions.stats().withdrawn == {}  # both versions answered "no such quote"
        fresh.withdraw("falconx.execute_v3", 404)
        quote = await http.create_quote(QuoteRequest(token_pair=ETH_USD,
                                                     quantity=Quantity(token="ETH", value=Decimal("0.2"))))
        executed = await http.execute_quote(ExecuteQuoteRequest(fx_quote_id=quote.fx_quote_id or "", side="buy"))
        assert executed.is_filled
        assert served(fresh, "falconx.quote_") == {"falconx.quote_v3": 1}
        assert http.versions.stats().withdrawn == {("execute_quote", "v3"): 404}
    finally:
        await http.aclose()


def test_an_account_switched_to_v3_while_the_others_stay_on_v1(fresh: CryptoPbSimulator) -> None:
    client, recorder = running(fresh, api_versions=["v1"], accounts={"HF-NEW": {"api_versions": ["v3", "v1"]}})
    try:
        market(client, recorder, "acc-old", account="HF-OLD")
        market(client, recorder, "acc-none")
        assert served(fresh) == {"falconx.order_v1": 2}
        market(client, recorder, "acc-new", account="HF-NEW")
        assert served(fresh) == {"falconx.order_v1": 2, "falconx.order_v3": 1}
        assert all(recorder.last_status(i) is OrdStatus.FILLED for i in ("acc-old", "acc-none", "acc-new"))
        # v1 withdrawn: the migrated account is not touched; an account kept on v1 alone has nothing to fall
        # back to, and its order is rejected with the venue's answer.
        fresh.withdraw("falconx.order_v1", 410)
        market(client, recorder, "acc-new-2", account="HF-NEW")
        market(client, recorder, "acc-old-2", account="HF-OLD")
        assert recorder.last_status("acc-new-2") is OrdStatus.FILLED
        assert recorder.last_status("acc-old-2") is OrdStatus.REJECTED
        assert "no longer served" in (recorder.events_for("acc-old-2")[-1].text or "")
        assert served(fresh) == {"falconx.order_v1": 3, "falconx.order_v3": 2}
        assert fresh.orders("falconx")["counts"] == {"acc-old": 1, "acc-none": 1, "acc-new": 1, "acc-new-2": 1}
    finally:
        client.stop()


# ------------------------------------------------------------------------------------------ one gateway


@pytest.fixture
def gateway_with_two_accounts(tmp_path: Path, fresh: CryptoPbSimulator,
                              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gateway, FixClient]]:
    """One FalconX venue entry: ACC1 on v1 (the venue's list), ACC2 moved to v3."""
    creds = fresh.credentials
    for field, variable in ENV.items():
        monkeypatch.setenv(variable, {"api_key": creds.access_key, "passphrase": creds.passphrase,
                                      "secret": creds.signing_key}[field])
    section = settings(fresh, kind="falconx", api_versions=["v1"], accounts={"ACC2": {"api_versions": ["v3", "v1"]}},
                       probe_interval_s=0.2, **{field: f"env:{variable}" for field, variable in ENV.items()})
    port = free_port()
    config = parse_config({
        "name": "fx-versions", "state_dir": str(tmp_path / "gw"), "acceptor": {"port": port},
        "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": ["ACC1", "ACC2"]}},
        "venues": {"fx": section}, "routing": {"default": "fx"}})
    gateway = Gateway(config)
    client = FixClient(port=port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                       store_dir=tmp_path / "ems-store")
    try:
        gateway.start()
        client.start()
        assert client.wait_logged_on(WAIT)
        yield gateway, client
    finally:
        client.stop()
        gateway.stop()


def test_one_gateway_trades_v1_for_one_account_and_v3_for_the_other(
        gateway_with_two_accounts: tuple[Gateway, FixClient], fresh: CryptoPbSimulator) -> None:
    gateway, client = gateway_with_two_accounts

    def filled(cl_ord_id: str, account: str) -> None:
        client.send(fix_order(cl_ord_id, symbol="ETH/USD", qty="0.5", price=None, account=account))
        done = report(client, cl_ord_id, lambda m: m.get(39) in ("2", "8"))
        assert done.get(39) == "2" and Decimal(done.get(14) or "0") == Decimal("0.5"), done.get(58)
        assert done.get(1) == account

    filled("GW-1", "ACC1")
    assert served(fresh) == {"falconx.order_v1": 1}
    filled("GW-2", "ACC2")
    assert served(fresh) == {"falconx.order_v1": 1, "falconx.order_v3": 1}
    # FalconX withdraws v3 orders: ACC2's next order falls back to v1 and fills; the metrics say so.
    fresh.withdraw("falconx.order_v3", 410)
    filled("GW-3", "ACC2")
    assert served(fresh) == {"falconx.order_v1": 2, "falconx.order_v3": 2}
    assert sorted(fresh.orders("falconx")["counts"].values()) == [1, 1, 1]  # under the gateway's own ids
    stats = venue_stats(gateway.venues["fx"])
    assert stats is not None and stats.api_versions is not None
    creates = {key: n for key, n in stats.api_versions.calls.items() if key[0] == "create_order"}
    assert creates == {("create_order", "v1"): 2, ("create_order", "v3"): 1}
    assert stats.api_versions.withdrawn == {("create_order", "v3"): 410}
    assert stats.api_versions.calls[("balances", "v1")] >= 1  # the health probe reads balances under v1
