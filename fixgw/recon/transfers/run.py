"""One transfer reconciliation of a day: read every prime broker's deposits and withdrawals (journaled), look
their hashes up on each configured chain, scan the chains for inflows to watched addresses, match, and record the
run like any recon run (venue `transfers` in recon_runs / recon_breaks, state `recon:<date>`), the reports
`<out>/<date>/transfers.breaks.csv|json` in the trade-break form, journal state `recon.transfers.last` (the
status page and metrics read it) and, when anything broke, the log event `alert` kind=transfer_breaks."""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fixgw.config import GatewayConfig
from fixgw.logs import get_logger
from fixgw.model.transfers import VenueTransfer
from fixgw.recon.report import CSV_COLUMNS
from fixgw.recon.sources import ReconWindow, SourceError
from fixgw.recon.transfers.chain import ChainSource, ChainSourceError, chain_source
from fixgw.recon.transfers.matching import TransferRules, hash_key, match_transfers
from fixgw.recon.transfers.records import CATEGORY, ChainTx, TransferBreak, TransferResult, WatchedInflow
from fixgw.recon.transfers.status import LAST_STATE
from fixgw.store.journal import Journal
from fixgw.store.recon import BREAKS, CLEAN, BreakRecord, ReconRunRecord, ReconStore
from fixgw.store.transfers import TransferStore

log = get_logger("fixgw.recon.transfers")

VENUE = "transfers"
"""The recon_runs venue of a transfer run (one run covers every prime broker and chain)."""
ALERT_KIND = "transfer_breaks"


@dataclass(slots=True)
class TransferOutcome:
    run_id: str
    day: date
    result: TransferResult
    sources: list[str] = field(default_factory=list)
    day_status: str = ""
    reports: list[Path] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.result.breaks


def transfer_venues(config: GatewayConfig) -> list[str]:
    chosen = config.recon.transfers.venues
    return list(chosen) if chosen is not None else sorted(config.venues)


class TransferReconciler:
    def __init__(self, config: GatewayConfig, journal: Journal, *, out: Path | None = None,
                 clock: Any = lambda: datetime.now(UTC)) -> None:
        from fixgw.recon.wiring import output_dir

        self.config = config
        self.settings = config.recon.transfers
        self.journal = journal
        self.transfers = TransferStore(journal)
        self.store = ReconStore(journal)
        self.output_dir = out or output_dir(config)
        self._clock = clock

    def run(self, day: date) -> TransferOutcome:
        started = self._clock()
        window = ReconWindow.of(VENUE, day, self.config.recon.timezone)
        since = window.start - timedelta(hours=self.settings.lookback_hours)
        found: list[VenueTransfer] = []
        for venue in transfer_venues(self.config):
            fetched = self._venue_transfers(venue, since, window.end)
            self.transfers.upsert(fetched)
            found += fetched
        chain, inflows, sources = self._chain(found, window, since)
        rules = TransferRules(timedelta(seconds=self.settings.max_pending_s),
                              {key: n.min_confirmations for key, n in self.settings.networks.items()})
        result = match_transfers(found, self.settings.network_of, chain, rules, self._clock(), inflows,
                                 self.transfers.hashes())
        outcome = TransferOutcome(f"{day.isoformat()}:{VENUE}:{uuid.uuid4().hex[:12]}", day, result, sources)
        counts = result.counts()
        record = ReconRunRecord(outcome.run_id, day.isoformat(), VENUE, "; ".join(sources)[:256] or "no chain source",
                                started, self._clock(), BREAKS if result.breaks else CLEAN, counts)
        outcome.day_status = self.store.record_run(record, [_record(b) for b in result.breaks])
        outcome.reports = write_reports(outcome, self.output_dir)
        self.store.put_state({LAST_STATE: json.dumps({
            "date": day.isoformat(), "result": "breaks" if result.breaks else "clean", "run_id": outcome.run_id,
            "at": record.finished_at.isoformat(), "counts": counts}, sort_keys=True)})
        self._announce(outcome)
        return outcome

    # --- the two sides ------------------------------------------------------------------------------------

    def _venue_transfers(self, venue: str, since: datetime, until: datetime) -> list[VenueTransfer]:
        from fixgw.venues.bridge.common.errors import BridgeError

        section = self.config.venues.get(venue)
        if section is None:
            raise SourceError(f"{venue}: not a REST venue of this configuration (recon.transfers.venues)")
        try:
            return asyncio.run(_fetch(section, since, until))
        except BridgeError as exc:
            raise SourceError(f"{venue}: transfers: {exc}") from None

    def _chain(self, found: list[VenueTransfer], window: ReconWindow, since: datetime,
               ) -> tuple[dict[tuple[str, str], ChainTx | None], list[WatchedInflow], list[str]]:
        wanted: dict[str, set[str]] = {}
        for transfer in found:
            label = self.settings.network_of(transfer.network, transfer.asset)
            if label is not None and transfer.tx_hash:
                wanted.setdefault(label, set()).add(transfer.tx_hash)
        chain: dict[tuple[str, str], ChainTx | None] = {}
        inflows: list[WatchedInflow] = []
        descriptions = []
        for key, network in self.settings.networks.items():
            source: ChainSource = chain_source(key, network, self.config.state_dir, window.day)
            descriptions.append(source.description)
            try:
                for tx_hash, tx in source.lookup(wanted.get(key, set())).items():
                    chain[(key, hash_key(tx_hash))] = tx
                inflows += source.watched_inflows(since, window.end)
            except ChainSourceError as exc:
                raise SourceError(str(exc)) from None
            finally:
                source.close()
        return chain, inflows, descriptions

    def _announce(self, outcome: TransferOutcome) -> None:
        counts = outcome.result.counts()
        bound = log.bind(venue=VENUE, date=outcome.day.isoformat(), run_id=outcome.run_id)
        bound.info("recon.transfers_done", result="clean" if outcome.clean else "breaks",
                   day_status=outcome.day_status, **counts)
        if not outcome.clean:
            kinds = Counter(found.kind.value for found in outcome.result.breaks)
            bound.warning("alert", kind=ALERT_KIND, scope="transfers", breaks=len(outcome.result.breaks),
                          by_kind=dict(kinds), reports=[str(path) for path in outcome.reports],
                          message=f"{len(outcome.result.breaks)} transfer break(s) for {outcome.day.isoformat()}")


async def _fetch(section: Any, start: datetime, end: datetime) -> list[VenueTransfer]:
    """The venue's deposits and withdrawals through its own signed client (one per kind of venue)."""
    from fixgw.venues.bridge.binance.config import BinanceConfig
    from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
    from fixgw.venues.bridge.falconx.config import FalconXConfig

    http: Any
    if isinstance(section, CoinbasePrimeConfig):
        from fixgw.venues.bridge.coinbase_prime.http import CoinbasePrimeHttp
        from fixgw.venues.bridge.coinbase_prime.transfers import list_transfers as listing
        http = CoinbasePrimeHttp(section)
    elif isinstance(section, BinanceConfig):
        from fixgw.venues.bridge.binance.http import BinanceHttp
        from fixgw.venues.bridge.binance.transfers import list_transfers as listing  # type: ignore[assignment]
        http = BinanceHttp(section)
    elif isinstance(section, FalconXConfig):
        from fixgw.venues.bridge.falconx.http import FalconXHttp
        from fixgw.venues.bridge.falconx.transfers import list_transfers as listing  # type: ignore[assignment]
        http = FalconXHttp(section)
    else:
        raise SourceError(f"{section.name}: no transfer listing known for {type(section).__name__}")
    try:
        return await listing(http, start, end)
    finally:
        await http.aclose()


def _record(found: TransferBreak) -> BreakRecord:
    return BreakRecord(CATEGORY, found.kind.value, found.ref, f"{found.venue}: {found.detail}", dict(found.evidence()),
                       found.asset or None)


def break_row(outcome: TransferOutcome, found: TransferBreak) -> dict[str, str]:
    ours, theirs = found.ours or {}, found.theirs or {}
    return {"recon_date": outcome.day.isoformat(), "venue": found.venue, "settle_date": "", "category": CATEGORY,
            "kind": found.kind.value, "ref": found.ref, "instrument": found.asset, "detail": found.detail,
            "ours_qty": ours.get("amount", ""), "ours_price": "", "ours_source": ours.get("source", ""),
            "theirs_qty": theirs.get("amount", ""), "theirs_price": "", "theirs_source": theirs.get("source", "")}


def write_reports(outcome: TransferOutcome, directory: Path) -> list[Path]:
    """`<directory>/<date>/transfers.breaks.csv` and `.json`, columns as the trade-break reports."""
    folder = directory / outcome.day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / f"{VENUE}.breaks.csv", folder / f"{VENUE}.breaks.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(break_row(outcome, found) for found in outcome.result.breaks)
    document = {"run_id": outcome.run_id, "date": outcome.day.isoformat(), "venue": VENUE, "source": outcome.sources,
                "result": "clean" if outcome.clean else "breaks", "counts": outcome.result.counts(),
                "breaks": [{"category": CATEGORY, "kind": b.kind.value, "venue": b.venue, "ref": b.ref,
                            "asset": b.asset, "detail": b.detail, "evidence": b.evidence()}
                           for b in outcome.result.breaks]}
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return [csv_path, json_path]


def print_transfer_summary(outcome: TransferOutcome, console: Any, *, max_breaks: int = 20) -> None:
    from rich.markup import escape

    counts = outcome.result.counts()
    verdict = "[green]clean[/]" if outcome.clean else f"[red]{counts['breaks']} break(s)[/]"
    console.print(f"[bold]transfers[/] {outcome.day.isoformat()}: {verdict}  transfers {counts['transfers']}, "
                  f"matched {counts['matched']}, pending {counts['pending']}, unchecked {counts['unchecked']}, "
                  f"watched inflows {counts['watched_inflows']}")
    for found in outcome.result.breaks[:max_breaks]:
        console.print(f"  [red]{found.kind.value}[/] {escape(f'{found.venue} {found.ref}: {found.detail}')}",
                      highlight=False)
    for path in outcome.reports:
        console.print(f"  report: {path}", highlight=False)


def run_transfer_recon(config: GatewayConfig, day: date, *, out: Path | None = None, console: Any = None) -> int:
    """`fixgw recon --transfers`: 0 clean, 1 breaks or a failed source."""
    from rich.console import Console

    from fixgw.store import JournalError

    console = console or Console(highlight=False, soft_wrap=True)
    try:
        config.state_dir.mkdir(parents=True, exist_ok=True)
        with Journal(config.journal_url) as journal:
            outcome = TransferReconciler(config, journal, out=out).run(day)
    except (SourceError, JournalError, OSError) as exc:
        console.print(f"[red]transfer reconciliation failed:[/] {exc}")
        log.error("recon.transfers_failed", date=day.isoformat(), error=str(exc))
        return 1
    print_transfer_summary(outcome, console)
    return 0 if outcome.clean else 1
