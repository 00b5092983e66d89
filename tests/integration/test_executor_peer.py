"""FixClient against QuickFIX's own C++ executor: a peer whose FIX we did not write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fixgw.engine.quickfix_support import FIX42, FIX44, free_port
from fixgw.sim.executor import ExecutorProcess, locate_executor, run_executor
from fixgw.sim.fix_client import FixClient


@pytest.fixture(scope="module")
def executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExecutorProcess]:
    work_dir = tmp_path_factory.mktemp("executor")
    binary = locate_executor(work_dir / "bin")
    if binary is None:
        pytest.skip("QuickFIX executor binary not available (libquickfix-doc / libquickfix17 missing)")
    with run_executor(
        port=free_port(), work_dir=work_dir, binary=binary, target_comp_ids=("EMS7",), begin_strings=(FIX42, FIX44)
    ) as running:
        yield running


@pytest.mark.parametrize("begin_string", [FIX42, FIX44])
def test_limit_order_is_filled_by_the_executor(executor: ExecutorProcess, tmp_path: Path, begin_string: str) -> None:
    with FixClient(
        port=executor.port,
        begin_string=begin_string,
        sender_comp_id="EMS7",
        target_comp_id=executor.sender_comp_id,
        store_dir=tmp_path / "ems",
    ) as client:
        assert client.wait_logged_on(10), executor.log_path.read_text()
        cl_ord_id = f"EXE-{begin_string}"
        order = [(35, "D"), (11, cl_ord_id), (55, "IBM"), (54, "1"), (38, "300"), (40, "2"), (44, "101.25")]
        order.append((60, datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]))
        if begin_string == FIX42:
            order.append((21, "1"))
        assert client.send(order)
        fill = client.wait_for(lambda m: m.msg_type == "8" and m.get(11) == cl_ord_id, timeout=10)
    assert fill.get(39) == "2"
    assert fill.get(150) == ("2" if begin_string == FIX42 else "F")
    assert Decimal(fill.get(14) or "NaN") == Decimal("300")
    assert Decimal(fill.get(31) or "NaN") == Decimal("101.25")
    assert Decimal(fill.get(151) or "NaN") == 0


def test_missing_package_means_no_executor(tmp_path: Path) -> None:
    assert locate_executor(tmp_path, source=tmp_path / "absent.gz") is None


def test_settings_file_has_one_session_per_version_and_client(tmp_path: Path) -> None:
    from fixgw.sim.executor import executor_settings_text

    text = executor_settings_text(
        port=1234,
        store_dir=tmp_path,
        sender_comp_id="EXECUTOR",
        target_comp_ids=("A", "B"),
        begin_strings=(FIX42, FIX44),
    )
    assert text.count("[SESSION]") == 4
    assert "SocketAcceptPort=1234" in text
    assert "DataDictionary=" in text and text.count("BeginString=FIX.4.4") == 2
