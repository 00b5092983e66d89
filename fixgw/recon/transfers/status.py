"""The latest transfer reconciliation as operators see it: one status-page line, the alert rule's input and the metrics
`fixgw_transfer_breaks{kind}` / `fixgw_transfer_recon_clean`, both read from journal state
`recon.transfers.last` (so a run by the CLI or another gateway on the same journal shows too)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from fixgw.recon.transfers.records import TransferBreakKind

LAST_STATE = "recon.transfers.last"


def last_run(journal: Any) -> dict[str, Any] | None:
    """The latest run's summary, or None (never run, or the journal cannot be read now)."""
    try:
        text = journal.get_state(LAST_STATE)
        return json.loads(text) if text else None
    except Exception:  # a closed or unreachable journal: the page and the scrape go on without this line
        return None


def transfer_breaks(journal: Any) -> int:
    """The latest run's break count (0 when none ran or the journal cannot be read): feeds the alert rule
    `transfer_breaks`, so the alert sinks hear of them."""
    last = last_run(journal)
    return int(last.get("counts", {}).get("breaks", 0)) if last else 0


def status_line(journal: Any) -> str:
    last = last_run(journal)
    if last is None:
        return "no transfer reconciliation yet"
    counts = last.get("counts", {})
    kinds = ", ".join(f"{kind.value.replace('_', ' ')}: {counts[kind.value]}" for kind in TransferBreakKind
                      if counts.get(kind.value))
    verdict = "clean" if last.get("result") == "clean" else f"{counts.get('breaks', '?')} break(s) ({kinds})"
    return (f"{last.get('date')}: {verdict} - {counts.get('transfers', 0)} transfer(s), {counts.get('matched', 0)} "
            f"matched, {counts.get('pending', 0)} pending, {counts.get('unchecked', 0)} unchecked "
            f"(run at {last.get('at', '?')})")


class TransferCollector(Collector):
    def __init__(self, journal: Callable[[], Any]) -> None:
        self._journal = journal

    def describe(self) -> list[Any]:
        return []  # nothing is read at registration

    def collect(self) -> Iterator[Any]:
        last = last_run(self._journal())
        if last is None:
            return
        counts = last.get("counts", {})
        breaks = GaugeMetricFamily("fixgw_transfer_breaks", "Breaks of the latest transfer reconciliation, by kind",
                                   labels=["kind"])
        for kind in TransferBreakKind:
            breaks.add_metric([kind.value], int(counts.get(kind.value, 0)))
        yield breaks
        yield GaugeMetricFamily("fixgw_transfer_recon_clean", "1 when the latest transfer reconciliation was clean",
                                value=1 if last.get("result") == "clean" else 0)
