"""Exactly-once creation against the HTTP simulator: a create that hangs past the client timeout and then commits
(the venue accepting the repeated client order id) is never sent twice, and every order gets a final answer."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from bridge_harness import Recorder, new_order, symbol_master
from pydantic import SecretStr
from structlog.testing import capture_logs
from waiting import wait_until

from fixgw.model.enums import ExecType, OrdStatus, OrdType
from fixgw.sim.crypto_pb import CryptoPbSimulator
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.coinbase_prime.execution import CoinbasePrimeAdapter
from fixgw.venues.bridge.common.execution import RestExecutionClient

pytestmark = pytest.mark.timeout(90)

ORDERS = 100
HANGS = 20  # 20 %: each create hangs past the 1 s client timeout, then commits
LATE = 3  # of those, hang past the 3 s settle window too: reported not placed, then found and adopted


@pytest.fixture(scope="module")
def sim() -> Iterator[CryptoPbSimulator]:
    with CryptoPbSimulator() as simulator:
        yield simulator


def make_config(sim: CryptoPbSimulator, **overrides: object) -> CoinbasePrimeConfig:
    creds = sim.credentials
    values: dict[str, object] = {
        "base_url": sim.coinbase_url,
        "portfolio_id": f"pf-{uuid.uuid4().hex[:8]}",
        "access_key": SecretStr(creds.access_key),
        "passphrase": SecretStr(creds.passphrase),
        "signing_key": SecretStr(creds.signing_key),
        "poll_interval_s": 0.1,
        "timeout_s": 1.0,
        "create_settle_s": 3.0,
        "retry_base_delay_s": 0.01,
        "retry_max_delay_s": 0.05,
    }
    values.update(overrides)
    return CoinbasePrimeConfig.model_validate(values)


def start(adapter: CoinbasePrimeAdapter, config: CoinbasePrimeConfig) -> tuple[RestExecutionClient, Recorder]:
    client = RestExecutionClient(adapter, config, symbol_master(), lookup_delay_s=0.05)
    recorder = Recorder()
    client.bind(recorder)
    client.start()
    return client, recorder


def per_client_order_id(sim: CryptoPbSimulator, portfolio_id: str) -> Counter[str]:
    return Counter(str(o["client_order_id"]) for o in sim.orders("coinbase")["orders"] if o["account"] == portfolio_id)


def test_a_create_that_commits_after_the_timeout_is_never_created_twice(sim: CryptoPbSimulator) -> None:
    sim.reset()
    config = make_config(sim)
    client, recorder = start(CoinbasePrimeAdapter(config), config)
    ids = [f"once-{n}" for n in range(ORDERS)]
    try:
        with capture_logs() as logs:
            for n, cl_ord_id in enumerate(ids):
                if n % (ORDERS // HANGS) == 0:  # armed just before the send: the next create to arrive takes it
                    late = n // (ORDERS // HANGS) < LATE
                    sim.inject_fault("coinbase.create_order", "hang_then_commit", 1, delay_s=4.5 if late else 2.0)
                client.send_new(new_order(cl_ord_id, ord_type=OrdType.MARKET, qty="0.01"))

            def answered(cl_ord_id: str) -> bool:
                return any(e.exec_type is ExecType.REJECTED or e.ord_status is OrdStatus.FILLED
                           for e in recorder.events_for(cl_ord_id))

            wait_until(lambda: all(answered(i) for i in ids), timeout=40, what="a final answer for every order")
            fired = sim.faults()["fired"]
            assert fired["coinbase.create_order:hang_then_commit"] == HANGS
            wait_until(lambda: len(per_client_order_id(sim, config.portfolio_id)) == ORDERS, timeout=20,
                       what="every hung create committed")
            not_placed = [e for e in recorder.executions if e.exec_type is ExecType.REJECTED]
            assert all((e.text or "").startswith("not placed") for e in not_placed)
            late_ids = {e.cl_ord_id for e in not_placed}
            wait_until(lambda: all(recorder.last_status(i) is OrdStatus.FILLED for i in late_ids), timeout=20,
                       what="each order reported not placed adopted once it turned up")
        counts = per_client_order_id(sim, config.portfolio_id)
        assert counts == Counter({i: 1 for i in ids}), "exactly one order per client_order_id at the venue"
        adopted = [e for e in logs if e["event"] == "bridge_late_order_adopted"]
        assert {e["cl_ord_id"] for e in adopted} == late_ids and all(e["log_level"] == "error" for e in adopted)
        for cl_ord_id in late_ids:
            late_new = [e for e in recorder.events_for(cl_ord_id) if e.exec_type is ExecType.NEW]
            assert len(late_new) == 1 and "reported not placed" in (late_new[0].text or "")
    finally:
        client.stop()


def test_nothing_found_within_the_settle_window_is_rejected_not_placed_and_never_resent(
        sim: CryptoPbSimulator) -> None:
    sim.reset()
    config = make_config(sim, create_settle_s=1.0)
    client, recorder = start(CoinbasePrimeAdapter(config), config)
    try:
        sim.inject_fault("coinbase.create_order", "error_500", 1)  # nothing processed, but the client cannot know
        client.send_new(new_order("lost-1", ord_type=OrdType.MARKET, qty="0.01"))
        wait_until(lambda: recorder.last_status("lost-1") is OrdStatus.REJECTED, timeout=15, what="a reject")
        (reject,) = [e for e in recorder.events_for("lost-1") if e.exec_type is ExecType.REJECTED]
        assert (reject.text or "").startswith("not placed")
        assert sim.request_counts().get("coinbase.create_order") == 1, "one send, never repeated"
        assert not per_client_order_id(sim, config.portfolio_id)
    finally:
        client.stop()


class RefusesRepeats(CoinbasePrimeAdapter):
    rejects_repeated_client_order_id = True


def test_a_venue_that_refuses_repeated_ids_is_sent_again_before_the_settle_window(sim: CryptoPbSimulator) -> None:
    sim.reset()
    config = make_config(sim, create_settle_s=60.0)  # far beyond the wait below: only a resend can fill it
    client, recorder = start(RefusesRepeats(config), config)
    try:
        sim.inject_fault("coinbase.create_order", "error_500", 1)
        client.send_new(new_order("again-1", ord_type=OrdType.MARKET, qty="0.01"))
        wait_until(lambda: recorder.last_status("again-1") is OrdStatus.FILLED, timeout=15, what="filled")
        assert per_client_order_id(sim, config.portfolio_id) == Counter({"again-1": 1})
    finally:
        client.stop()
