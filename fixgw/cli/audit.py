"""`fixgw audit ...`: the compliance archive - message export, the order-events report, the retention purge.

Exports stream from the journal (rows fetched in batches, written as they come): memory stays flat whatever
the range. Progress goes to stderr: a bar on a terminal, plain lines otherwise.
Times: `--from` / `--to` take a UTC date (2025-06-02) or an ISO 8601 time (naive = UTC); `--from` is inclusive,
`--to` exclusive, and a bare date as `--to` means the end of that day.
Exit codes: 0 done, 1 failure (unreadable config, journal error, no retention set), 2 usage error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from fixgw.cli.common import app, config_or_exit, fail

if TYPE_CHECKING:
    from fixgw.dropcopy.export import HeaderBook
    from fixgw.store.archive import ArchiveQuery

audit_app = typer.Typer(help="Compliance archive: export messages, order-events report, retention purge.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")


class MessageFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    fix = "fix"


class EventFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"


ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="The gateway's configuration (TOML).")]
JournalOption = Annotated[str | None, typer.Option("--journal", help="Journal URL (instead of, or over, --config).")]
FromOption = Annotated[str, typer.Option("--from", help="Start (inclusive): YYYY-MM-DD or ISO time, UTC.")]
ToOption = Annotated[str, typer.Option("--to", help="End (exclusive; a bare date: the end of that day), UTC.")]
AccountOption = Annotated[list[str] | None, typer.Option("--account", help="Only this account (repeatable).")]
VenueOption = Annotated[list[str] | None, typer.Option("--venue", help="Only orders routed to this venue.")]
InstrumentOption = Annotated[list[str] | None, typer.Option("--instrument", help="Canonical instrument id.")]
OrderIdOption = Annotated[list[str] | None, typer.Option("--order-id", help="Our order id.")]
ClOrdIdOption = Annotated[list[str] | None, typer.Option("--cl-ord-id", help="Any ClOrdID of the order (EMS or ours).")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")]


@audit_app.command("export")
def export(
    from_: FromOption,
    to: ToOption,
    output_format: Annotated[MessageFormat, typer.Option("--format", help="csv, jsonl or fix (a FIX log).")],
    config: ConfigOption = None,
    journal: JournalOption = None,
    account: AccountOption = None,
    venue: VenueOption = None,
    instrument: InstrumentOption = None,
    order_id: OrderIdOption = None,
    cl_ord_id: ClOrdIdOption = None,
    session: Annotated[list[str] | None, typer.Option("--session", help="Only this journal session.")] = None,
    wire: Annotated[bool, typer.Option(
        "--wire/--no-wire", help="With --venue and --format jsonl: the venue's REST requests and answers (the venue "
        "wire archive, masked) in time order among the messages, as records with \"record\": \"venue_wire\".")] = True,
    output: OutputOption = None,
) -> None:
    """Export every archived message (inbound and outbound, drop copies included) in a time range."""
    from fixgw.dropcopy.export import write_messages, write_messages_with_wire

    settings = _settings(config, journal)
    query = _query(from_, to, account, venue, instrument, order_id, cl_ord_id, session)
    with_wire = wire and bool(venue) and output_format is MessageFormat.jsonl
    with _archive(settings.journal_url) as archive:
        total = archive.count_messages(query) + (archive.count_wire_exchanges(query) if with_wire else 0)
        with _output(output) as out, _progress("exporting messages", total) as advance:
            if with_wire:
                written = write_messages_with_wire(archive.messages(query), archive.wire_exchanges(query), out,
                                                   progress=advance)
            else:
                written = write_messages(archive.messages(query), out, output_format.value,
                                         headers=settings.headers, progress=advance)
    what = "record(s) (messages and venue wire exchanges)" if with_wire else "message(s)"
    typer.echo(f"exported {written} {what}" + (f" to {output}" if output else ""), err=True)


@audit_app.command("events")
def events(
    from_: FromOption,
    to: ToOption,
    output_format: Annotated[EventFormat, typer.Option("--format", help="csv or jsonl.")] = EventFormat.csv,
    config: ConfigOption = None,
    journal: JournalOption = None,
    account: AccountOption = None,
    venue: VenueOption = None,
    instrument: InstrumentOption = None,
    order_id: OrderIdOption = None,
    cl_ord_id: ClOrdIdOption = None,
    output: OutputOption = None,
) -> None:
    """Order-events report: one row per order event (new, route, accept, modify, cancel, fill, reject, other)."""
    from fixgw.dropcopy.export import write_events

    settings = _settings(config, journal)
    query = _query(from_, to, account, venue, instrument, order_id, cl_ord_id, None)
    with _archive(settings.journal_url) as archive:
        total = archive.count_events(query)
        with _output(output) as out, _progress("exporting order events", total) as advance:
            written = write_events(archive.events(query), out, output_format.value, progress=advance)
    typer.echo(f"exported {written} order event(s)" + (f" to {output}" if output else ""), err=True)


@audit_app.command("margin")
def margin(
    from_: FromOption,
    to: ToOption,
    output_format: Annotated[EventFormat, typer.Option("--format", help="csv or jsonl.")] = EventFormat.csv,
    config: ConfigOption = None,
    journal: JournalOption = None,
    venue: Annotated[str | None, typer.Option("--venue", help="Only this margin venue.")] = None,
    output: OutputOption = None,
) -> None:
    """Margin journal: every snapshot, state change, interest accrual and drift pause (README "Margin and
    collateral"), one row each; `detail` is the row's figures as JSON."""
    import csv
    import json

    from fixgw.store import Journal, JournalError
    from fixgw.store.margin import MarginStore

    settings = _settings(config, journal)
    since, until = _instant(from_, end=False), _instant(to, end=True)
    opened = Journal(settings.journal_url)
    written = 0
    try:
        opened.open()
        with _output(output) as out:
            writer = csv.writer(out) if output_format is EventFormat.csv else None
            if writer is not None:
                writer.writerow(["at", "venue", "kind", "state", "previous_state", "margin_ratio", "detail"])
            for row in MarginStore(opened).rows(since=since, until=until, venue=venue):
                values = {"at": row.at.isoformat(), "venue": row.venue, "kind": row.kind, "state": row.state,
                          "previous_state": row.previous_state, "margin_ratio": row.margin_ratio, "detail": row.detail}
                if writer is not None:
                    writer.writerow([*(values[k] or "" for k in list(values)[:-1]), json.dumps(row.detail)])
                else:
                    out.write(json.dumps(values) + "\n")
                written += 1
    except JournalError as exc:
        raise fail(str(exc)) from None
    finally:
        opened.close()
    typer.echo(f"exported {written} margin row(s)" + (f" to {output}" if output else ""), err=True)


@audit_app.command("purge")
def purge(
    config: ConfigOption = None,
    journal: JournalOption = None,
    days: Annotated[int | None, typer.Option("--days", min=1, help="Override [retention] days.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted.")] = False,
) -> None:
    """Delete whole UTC days older than the retention - only days reconciliation marked clean."""
    from fixgw.dropcopy.retention import RECON_STATE_PREFIX, plan_purge, recon_verdicts

    settings = _settings(config, journal)
    keep = days or settings.retention_days
    if keep is None:
        raise fail("no retention: set [retention] days in the config or pass --days")
    with _archive(settings.journal_url) as archive:
        plan = plan_purge(today=datetime.now(UTC).date(), days=keep, first_day=archive.first_day(),
                          verdicts=recon_verdicts(archive.journal.state_with_prefix(RECON_STATE_PREFIX)),
                          has_data=lambda day: any(archive.day_counts(day).values()))
        for day in plan.unreconciled:
            typer.echo(f"kept {day}: not reconciled (no recon:{day} state)", err=True)
        for day in plan.breaks:
            typer.echo(f"kept {day}: reconciliation found breaks", err=True)
        for day in plan.purge:
            if dry_run:
                counts = archive.day_counts(day)
                typer.echo(f"would purge {day}: {counts['messages']} messages, {counts['events']} events, "
                           f"{counts['fills']} fills")
                continue
            done = archive.purge_day(day)
            typer.echo(f"purged {day}: {done.messages} messages, {done.events} events, {done.fills} fills, "
                       f"{done.orders} closed orders")
    typer.echo(f"retention {keep} day(s): {len(plan.purge)} day(s) {'to purge' if dry_run else 'purged'} before "
               f"{plan.cutoff}, {len(plan.unreconciled) + len(plan.breaks)} kept (not clean)", err=True)


# ------------------------------------------------------------------------------------------ helpers


class _Settings:
    def __init__(self, journal_url: str, headers: HeaderBook, retention_days: int | None) -> None:
        self.journal_url = journal_url
        self.headers = headers
        self.retention_days = retention_days


def _settings(config: Path | None, journal: str | None) -> _Settings:
    """Journal URL, session headers and retention from the config; only those keys are read, so no secret of
    the gateway needs to resolve for an audit."""
    from fixgw.config import load_sections
    from fixgw.dropcopy.export import HeaderBook

    if config is None:
        if journal is None:
            raise typer.BadParameter("give --config or --journal")
        return _Settings(journal, HeaderBook(), None)
    keys = ("name", "state_dir", "journal", "dropcopy", "retention")
    data, parsed = config_or_exit(config, lambda path: load_sections(path, keys))
    return _Settings(journal or parsed.journal_url, _headers(data, parsed.dropcopy), parsed.retention.days)


def _headers(data: dict[str, Any], dropcopy: dict[str, Any]) -> HeaderBook:
    from fixgw.dropcopy.copies import COPY_BEGIN_STRING, DROPCOPY_SESSION
    from fixgw.dropcopy.export import HeaderBook, SessionHeader

    sessions: dict[str, SessionHeader] = {}
    for section in ("ems", "brokers"):
        for name, values in (data.get(section) or {}).items():
            if isinstance(values, dict):
                sessions[name] = SessionHeader(values.get("begin_string", "FIX.4.4"),
                                               values.get("sender_comp_id", "FIXGW"),
                                               values.get("target_comp_id", name))
    if len(dropcopy) == 1:
        (only,) = dropcopy.values()
        sessions[DROPCOPY_SESSION] = SessionHeader(COPY_BEGIN_STRING, only.sender_comp_id, only.target_comp_id)
    return HeaderBook(sessions)


def _instant(text: str, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date or ISO time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _query(from_: str, to: str, account: list[str] | None, venue: list[str] | None, instrument: list[str] | None,
           order_id: list[str] | None, cl_ord_id: list[str] | None, session: list[str] | None) -> ArchiveQuery:
    from fixgw.store.archive import ArchiveQuery

    since, until = _instant(from_, end=False), _instant(to, end=True)
    if until <= since:
        raise typer.BadParameter(f"--to ({until.isoformat()}) is not after --from ({since.isoformat()})")
    return ArchiveQuery(since=since, until=until, accounts=tuple(account or ()), venues=tuple(venue or ()),
                        instruments=tuple(instrument or ()), order_ids=tuple(order_id or ()),
                        cl_ord_ids=tuple(cl_ord_id or ()), sessions=tuple(session or ()))


@contextmanager
def _archive(url: str) -> Iterator[Any]:
    from fixgw.store import Journal, JournalError
    from fixgw.store.archive import Archive

    journal = Journal(url)
    try:
        journal.open()
        yield Archive(journal)
    except JournalError as exc:
        raise fail(str(exc)) from None
    finally:
        journal.close()


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        handle = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise fail(f"{path}: cannot write: {exc.strerror}") from None
    with handle:
        yield handle


@contextmanager
def _progress(label: str, total: int) -> Iterator[Any]:
    from fixgw.ops.progress import progress

    with progress(label, total) as reporter:
        last = 0

        def advance(written: int) -> None:
            nonlocal last
            reporter.advance(written - last)
            last = written

        yield advance
