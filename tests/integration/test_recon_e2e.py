"""End to end: trade through the gateway against the FIX broker simulator, then reconcile the journal against
the simulator's statement and against the broker's ExecutionReport history: zero breaks. Then a statement with
one fill missing and one price changed: exactly those two breaks."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from gateway_stack import new_order, report, running_stack, status
from rich.console import Console

from fixgw.cli.recon import run_recon
from fixgw.store import Journal
from fixgw.store.recon import ReconStore

pytestmark = pytest.mark.timeout(60)


def test_trades_through_the_simulator_reconcile_clean_then_two_injected_breaks(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        ems = stack.ems("ems-a")
        for n, (symbol, side, qty, price) in enumerate([("AAPL", "1", "100", "190.25"), ("SPY", "2", "30", "590.5"),
                                                         ("AAPL", "2", "40", "191")]):
            ems.send(new_order(f"R{n}", symbol=symbol, side=side, qty=qty, price=price))
            report(ems, f"R{n}", status("2"))
        executions = stack.broker.executions()
        assert len(executions) == 6                                # two fill slices per order
        assert stack.wait(lambda: _journaled_fills(stack.config.journal_url) == 6)
        day = datetime.now(ZoneInfo(stack.config.recon.timezone)).date()
        statement = stack.broker.write_statement(tmp_path / f"equities-{day.isoformat()}.csv")
        config = stack.config.model_copy(update={"recon": stack.config.recon.model_copy(update={
            "venues": {"equities": stack.config.recon.venues.get("equities") or _mapping("fix-broker-sim")}})})
        out = tmp_path / "reports"
        console = Console(file=open(tmp_path / "summary.txt", "w"), width=160)  # noqa: SIM115

        # The simulator's statement and the broker's ExecutionReports as journaled: both clean.
        assert run_recon(config, day, venue="equities", statement=statement, out=out, console=console) == 0
        fix_config = stack.config
        assert run_recon(fix_config, day, venue="equities", out=out, console=console) == 0

        # One execution left off the statement, another one's price changed: exactly two breaks.
        lines = statement.read_text().splitlines()
        trades = [i for i, line in enumerate(lines) if line.startswith("TRD,")]
        missing, repriced = lines[trades[1]].split(","), lines[trades[4]].split(",")
        repriced[8] = str(Decimal(repriced[8]) + Decimal("0.05"))
        lines[trades[4]] = ",".join(repriced)
        del lines[trades[1]]
        statement.write_text("\n".join(lines) + "\n")
        assert run_recon(config, day, venue="equities", statement=statement, out=out, console=console) == 1
    console.file.close()

    with Journal(stack.config.journal_url) as journal:
        store = ReconStore(journal)
        latest = store.runs(recon_date=day.isoformat(), venue="equities")[-1]
        breaks = {(b.kind, b.ref) for b in store.breaks(latest.run_id)}
        assert breaks == {("missing_at_broker", missing[1]), ("price_mismatch", repriced[1])}
        assert journal.get_state(f"recon:{day.isoformat()}") == "breaks"
    document = json.loads((out / day.isoformat() / "equities.breaks.json").read_text())
    assert document["counts"]["breaks"] == 2 and document["counts"]["matched"] == 5
    summary = (tmp_path / "summary.txt").read_text()
    assert "equities" in summary and "2 break(s)" in summary


def _mapping(name: str):  # type: ignore[no-untyped-def]
    from fixgw.recon.settings import ReconVenueConfig

    return ReconVenueConfig(mapping=name)


def _journaled_fills(url: str) -> int:
    with Journal(url) as journal:
        return journal.counts()["fills"]
