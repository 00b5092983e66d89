"""Every EMS order gets an answer over real QuickFIX sessions: algos a broker cannot carry, algos on every EMS
FIX version, stale replays, brokers that forgot their book, the EMS's business rejects (issue 24)."""

from __future__ import annotations

from pathlib import Path

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
