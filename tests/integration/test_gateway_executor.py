"""fixgw against QuickFIX's own C++ executor (Debian's libquickfix-doc) as the broker: a FIX peer we did not write."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from gateway_stack import EmsSpec, gateway_config, new_order, report, status
from waiting import wait_until

from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.sim.executor import ExecutorProcess, locate_executor, run_executor
from fixgw.sim.fix_client import FixClient


@pytest.fixture(scope="module")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExecutorProcess]:
    work_dir = tmp_path_factory.mktemp("executor")
    binary = locate_executor(work_dir / "bin")
    if binary is None:
        pytest.skip("QuickFIX executor binary not available (libquickfix-doc / libquickfix17 missing)")
    with run_executor(port=free_port(), work_dir=work_dir, binary=binary, target_comp_ids=("FIXGW",),
                      begin_strings=("FIX.4.2", "FIX.4.4")) as running:
        yield running


@pytest.mark.parametrize(("begin_string", "dialect"), [("FIX.4.2", "fix42-broker"), ("FIX.4.4", "generic-broker")])
def test_orders_fill_at_the_quickfix_executor(executor: ExecutorProcess, tmp_path: Path, journal_url: str,
                                              begin_string: str, dialect: str) -> None:
    acceptor_port = free_port()
    brokers = {"executor": {"begin_string": begin_string, "target_comp_id": executor.sender_comp_id,
                            "port": executor.port, "dialect": dialect, "quickfix": {"ReconnectInterval": 1}}}
    config = gateway_config(tmp_path / "gw", acceptor_port, brokers, [EmsSpec("ems-a", "EMS-A")], journal_url)
    gateway = Gateway(config)
    gateway.start()
    ems = FixClient(port=acceptor_port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                    store_dir=tmp_path / "ems")
    try:
        ems.start()
        assert ems.wait_logged_on(15)
        deadline_ok = wait_until(lambda: gateway.venues_connected()["executor"])
        assert deadline_ok, executor.log_path.read_text()[-2000:]
        ems.send(new_order("X1", symbol="AAPL", qty="300", price="190.25"))
        filled = report(ems, "X1", status("2"))
        assert Decimal(filled.get(14) or "") == 300
        assert Decimal(filled.get(6) or "") == Decimal("190.25")
        assert filled.get(37) != "NONE"
        # The executor refuses market orders (a session reject): the order ends rejected, not stuck.
        ems.send(new_order("X2", symbol="AAPL", qty="100", price=None))
        rejected = report(ems, "X2", status("8"))
        assert "reject" in (rejected.get(58) or "").lower()
    finally:
        ems.stop()
        gateway.stop()


