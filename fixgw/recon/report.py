"""The break report: CSV and JSON files per run, and a readable summary (rich) grouped by settlement date."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from fixgw.recon.records import Break, BreakKind, MatchResult

NO_SETTLEMENT = "positions/cash"
"""Group of the breaks without a settlement date (positions and cash are as of the day's close)."""
CSV_COLUMNS = ("recon_date", "venue", "settle_date", "category", "kind", "ref", "instrument", "detail",
               "ours_qty", "ours_price", "ours_at", "ours_source", "theirs_qty", "theirs_price", "theirs_at",
               "theirs_source")
"""`ours_at` / `theirs_at`: the trade time each side recorded (ISO 8601), empty for positions and cash."""


@dataclass(slots=True)
class ReconOutcome:
    """One venue's reconciliation of one day."""

    run_id: str
    venue: str
    day: date
    source: str
    result: MatchResult
    trades_by_settle_date: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Settlement date -> (our trades, the broker's trades)."""
    day_status: str = ""
    reports: list[Path] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.result.breaks

    @property
    def breaks(self) -> list[Break]:
        return self.result.breaks


def settle_key(found: Break) -> str:
    return found.settle_date.isoformat() if found.settle_date else NO_SETTLEMENT


def break_row(outcome: ReconOutcome, found: Break) -> dict[str, str]:
    ours, theirs = found.ours or {}, found.theirs or {}
    if found.kind is BreakKind.DUPLICATE:   # the evidence holds both copies: show the repeated one
        ours, theirs = ours.get("again", {}), theirs.get("again", {})
    return {"recon_date": outcome.day.isoformat(), "venue": outcome.venue, "settle_date": settle_key(found),
            "category": found.category.value, "kind": found.kind.value, "ref": found.ref,
            "instrument": found.instrument_id or "", "detail": found.detail,
            "ours_qty": ours.get("qty", ours.get("amount", "")), "ours_price": ours.get("price", ""),
            "ours_at": ours.get("at", ""), "ours_source": ours.get("source", ""),
            "theirs_qty": theirs.get("qty", theirs.get("amount", "")), "theirs_price": theirs.get("price", ""),
            "theirs_at": theirs.get("at", ""), "theirs_source": theirs.get("source", "")}


def report_document(outcome: ReconOutcome) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    for settle, (ours, theirs) in sorted(outcome.trades_by_settle_date.items()):
        groups[settle] = {"our_trades": ours, "broker_trades": theirs, "breaks": []}
    for found in outcome.breaks:
        group = groups.setdefault(settle_key(found), {"our_trades": 0, "broker_trades": 0, "breaks": []})
        group["breaks"].append({"category": found.category.value, "kind": found.kind.value, "ref": found.ref,
                                "instrument": found.instrument_id, "detail": found.detail,
                                "evidence": found.evidence()})
    return {"run_id": outcome.run_id, "date": outcome.day.isoformat(), "venue": outcome.venue,
            "source": outcome.source, "result": "clean" if outcome.clean else "breaks",
            "counts": outcome.result.counts(), "by_settlement_date": dict(sorted(groups.items()))}


def write_reports(outcome: ReconOutcome, directory: Path) -> list[Path]:
    """`<directory>/<date>/<venue>.breaks.csv` and `.json` (replaced by a later run of the same day)."""
    folder = directory / outcome.day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / f"{outcome.venue}.breaks.csv", folder / f"{outcome.venue}.breaks.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(break_row(outcome, found) for found in outcome.breaks)
    json_path.write_text(json.dumps(report_document(outcome), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return [csv_path, json_path]


def print_summary(outcomes: list[ReconOutcome], console: Console, *, max_breaks: int = 20) -> None:
    """Per venue: counts per settlement date, then the first breaks."""
    kinds = [kind.value for kind in BreakKind]
    for outcome in outcomes:
        counts = outcome.result.counts()
        colour = "green" if outcome.clean else "red"
        verdict = "clean" if outcome.clean else f"{counts['breaks']} break(s)"
        console.print(f"[bold]{outcome.venue}[/] {outcome.day.isoformat()}: [{colour}]{verdict}[/]  "
                      f"ours {counts['ours']}, broker {counts['theirs']}, matched {counts['matched']}  "
                      f"[dim]({outcome.source})[/]")
        table = Table("settle date", "ours", "broker", *(kind.replace("_", " ") for kind in kinds), box=None)
        by_group: dict[str, Counter[str]] = {}
        for found in outcome.breaks:
            by_group.setdefault(settle_key(found), Counter())[found.kind.value] += 1
        for settle in sorted(set(outcome.trades_by_settle_date) | set(by_group)):
            ours, theirs = outcome.trades_by_settle_date.get(settle, (0, 0))
            tally = by_group.get(settle, Counter())
            table.add_row(settle, str(ours), str(theirs), *(str(tally[kind]) if tally[kind] else "" for kind in kinds))
        console.print(table)
        for found in outcome.breaks[:max_breaks]:
            console.print(f"  [red]{found.kind.value}[/] {found.category.value} {found.ref}: {found.detail}",
                          markup=True, highlight=False)
        if len(outcome.breaks) > max_breaks:
            console.print(f"  ... and {len(outcome.breaks) - max_breaks} more (see the CSV/JSON report)")
        for path in outcome.reports:
            console.print(f"  report: {path}", highlight=False)
