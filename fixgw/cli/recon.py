"""`fixgw recon`: reconcile one day on demand. Exit 0 clean, 1 breaks (or the run failed), 2 usage error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from fixgw.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, app, config_or_exit

if TYPE_CHECKING:
    from fixgw.recon.run import Phase

PHASES = {"ours": "our fills (journal)", "broker": "broker records", "match": "matching", "save": "saving"}


@app.command("recon")
def recon(
    day_text: Annotated[str, typer.Option("--date", help="The day to reconcile: YYYY-MM-DD, today or yesterday "
                                          "(days in recon.timezone).")],
    venue: Annotated[str | None, typer.Option("--venue", help="Only this venue (default: every venue).")] = None,
    config_path: Annotated[Path | None, typer.Option("--config", "-c", help="Gateway configuration (TOML).")] = None,
    statement: Annotated[Path | None, typer.Option(
        "--statement", help="The broker's statement file for --venue (CSV, or XML by its mapping).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Report folder (default: recon.output_dir).")] = None,
    transfers: Annotated[bool, typer.Option(
        "--transfers", help="Reconcile the prime brokers' deposits and withdrawals against the chains instead.",
    )] = False,
) -> None:
    """Reconcile our fills of one day against each broker's record; write CSV/JSON break reports."""
    from fixgw.config import load_config, parse_config
    from fixgw.logs import configure_logging

    config = config_or_exit(config_path, lambda path: load_config(path) if path else parse_config({}))
    try:
        day = recon_day(day_text, ZoneInfo(config.recon.timezone))
    except ValueError:
        typer.echo(f"--date: {day_text!r} is not a date (YYYY-MM-DD, today or yesterday)", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    configure_logging(config.log.level, config.log.format)
    if transfers:
        from fixgw.recon.transfers.run import run_transfer_recon

        if venue is not None or statement is not None:
            typer.echo("--transfers checks every venue of recon.transfers.venues: no --venue or --statement", err=True)
            raise typer.Exit(EXIT_USAGE)

        raise typer.Exit(run_transfer_recon(config, day, out=out))
    raise typer.Exit(run_recon(config, day, venue=venue, statement=statement, out=out))


def recon_day(text: str, zone: ZoneInfo, now: datetime | None = None) -> date:
    """YYYY-MM-DD, or `today` / `yesterday` as the calendar in `zone` (the recon timezone) says at `now`."""
    relative = {"today": 0, "yesterday": 1}.get(text.strip().lower())
    if relative is None:
        return date.fromisoformat(text)
    return (now or datetime.now(UTC)).astimezone(zone).date() - timedelta(days=relative)


def run_recon(config: object, day: date, *, venue: str | None = None, statement: Path | None = None,
              out: Path | None = None, console: Console | None = None) -> int:
    """The command's body, callable in-process: 0 every venue clean, 1 breaks or a failed venue, 2 usage."""
    from fixgw.config import GatewayConfig
    from fixgw.recon.report import ReconOutcome, print_summary
    from fixgw.recon.settlement import CalendarError
    from fixgw.recon.sources import SourceError
    from fixgw.recon.wiring import load_symbols, reconciler_for, source_for, venue_names
    from fixgw.store import Journal, JournalError

    assert isinstance(config, GatewayConfig)
    console = console or Console(highlight=False, soft_wrap=True)
    venues = [venue] if venue else venue_names(config)
    if statement is not None and len(venues) != 1:
        console.print("--statement is one venue's file: name the venue with --venue")
        return EXIT_USAGE
    if not venues:
        console.print("nothing to reconcile: no broker or venue in the configuration (use --venue)")
        return EXIT_USAGE
    outcomes: list[ReconOutcome] = []
    failed = False
    try:
        config.state_dir.mkdir(parents=True, exist_ok=True)   # the default SQLite journal lives there
        with Journal(config.journal_url) as journal:
            symbols = load_symbols(config)
            reconciler = reconciler_for(config, journal, symbols, out=out)
            for name in venues:
                try:
                    source = source_for(config, journal, symbols, name, day, statement=statement)
                    with _progress(console, name) as phase:
                        outcomes.append(reconciler.run(name, day, source, phase))
                except SourceError as exc:
                    failed = True
                    console.print(f"[red]{name}: reconciliation failed:[/] {exc}")
    except (JournalError, CalendarError, OSError) as exc:
        console.print(f"[red]reconciliation failed:[/] {exc}")
        return EXIT_FAILURE
    print_summary(outcomes, console)
    return EXIT_FAILURE if failed or any(not outcome.clean for outcome in outcomes) else EXIT_OK


@contextmanager
def _progress(console: Console, venue: str) -> Iterator[Phase | None]:
    """A progress bar per phase on a terminal; nothing otherwise (logs and CI)."""
    if not console.is_terminal:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} records"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        tasks: dict[str, object] = {}

        def phase(name: str) -> object:
            for task in tasks.values():
                progress.update(task, visible=False)  # type: ignore[arg-type]
            task = tasks[name] = progress.add_task(f"{venue}: {PHASES.get(name, name)}", total=None)
            return lambda count: progress.update(task, completed=count)

        yield phase  # type: ignore[misc]
