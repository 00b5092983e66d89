"""Every EMS order gets an answer over real QuickFIX sessions: algos a broker cannot carry, algos on every EMS
FIX version, stale replays, brokers that forgot their book, the EMS's business rejects (issue 24)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway_stack import EmsSpec, new_order, report, running_stack, status


def test_vwap_to_a_broker_without_algos_is_rejected_at_once_and_never_queried(tmp_path: Path) -> None:
    with running_stack(tmp_path, journal_url=f"sqlite:///{tmp_path / 'journal.db'}",
                       ems=[EmsSpec("ems-a", "EMS-A")]) as stack:
        ems = stack.ems()
        ems.send(new_order("V1", qty="100", price="190.25", extra=[(847, "1")]))
        rejected = report(ems, "V1", status("8"))
        assert "VWAP" in (rejected.get(58) or "") and "equities" in (rejected.get(58) or "")
        assert stack.gateway.runner is not None and stack.gateway.runner.drain()
        assert stack.broker.received_requests() == []          # nothing left: no order, no status requests
        order = stack.gateway.core.book.find_ems("ems-a", "V1") if stack.gateway.core else None
        assert order is not None and order.status.name == "DENIED"


ALGO_EMS = [EmsSpec("ems-42", "EMS-42", "FIX.4.2"), EmsSpec("ems-44", "EMS-44", "FIX.4.4"),
            EmsSpec("ems-50", "EMS-50", "FIXT.1.1")]


@pytest.mark.parametrize("strategy", ["1", "1001"], ids=["VWAP", "TWAP"])
def test_algos_from_every_ems_fix_version_reach_the_broker_and_fill(tmp_path: Path, strategy: str) -> None:
    """847 values ems-default maps (VWAP 1, TWAP 1001) pass each EMS session's dictionary, and the algo broker's."""
    with running_stack(tmp_path, journal_url=f"sqlite:///{tmp_path / 'journal.db'}", broker_begin="FIX.4.4",
                       ems=ALGO_EMS) as stack:
        for spec in ALGO_EMS:
            ems = stack.ems(spec.name)
            cl_ord_id = f"{spec.name}-{strategy}"
            ems.send(new_order(cl_ord_id, qty="200", price="190.25", extra=[(847, strategy)],
                               handl_inst=spec.begin_string == "FIX.4.2"))
            new = report(ems, cl_ord_id, status("0"))
            assert new.get(847) in (None, strategy)
            report(ems, cl_ord_id, status("2"))
            assert not any(m.msg_type in ("3", "j") for m in ems.received), f"{spec.name} got a reject"
        assert len(stack.broker.orders) == len(ALGO_EMS)
        assert not any(m.msg_type in ("3", "j") for m in stack.broker.received_requests())
