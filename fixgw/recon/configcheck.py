"""`fixgw check-config` checks of the `[recon]` section: cron expressions, calendars, statement mappings,
sources that fit the venue, drift venues that report balances, transfer venues that list transfers."""

from __future__ import annotations

from pathlib import Path

from fixgw.config import GatewayConfig

Problem = tuple[str, str]


def check_recon(config: GatewayConfig) -> list[Problem]:
    from zoneinfo import ZoneInfo

    from fixgw.recon.cron import crontab_trigger
    from fixgw.recon.settlement import CalendarError, load_calendars
    from fixgw.recon.sources import SourceError
    from fixgw.recon.statement import find_mapping
    from fixgw.recon.wiring import recon_specs, source_kind, statement_folder

    recon = config.recon
    problems: list[Problem] = []
    zone = ZoneInfo(recon.timezone)
    crons = [("recon.eod_cron", recon.eod_cron)]
    crons += [(f"recon.venues.{name}.eod_cron", v.eod_cron) for name, v in recon.venues.items() if v.eod_cron]
    crons += [("recon.transfers.cron", recon.transfers.cron)] if recon.transfers.cron else []
    for key, expr in crons:
        try:
            crontab_trigger(expr, zone)
        except ValueError as exc:
            problems.append((key, f"not a valid crontab expression {expr!r}: {exc}"))
    try:
        calendars = load_calendars(recon_specs(config) / "calendars")
    except CalendarError as exc:
        problems.append(("specs_dir", str(exc)))
        calendars = {}
    for asset_class, name in recon.calendars.items():
        if name not in calendars:
            problems.append((f"recon.calendars.{asset_class.value}",
                             f"no calendar {name!r} in {recon_specs(config) / 'calendars'}"))
    for name, settings in recon.venues.items():
        try:
            kind = source_kind(config, name)
            if kind == "statement":
                find_mapping(recon_specs(config), name, settings.mapping)
                problems.extend(_statement_folder_problems(config, name, statement_folder(config, name)))
            elif kind == "rest" and name not in config.venues:
                problems.append((f"recon.venues.{name}.source", "'rest' needs a REST venue of that name (venues.*)"))
            elif kind == "fix" and name not in config.brokers:
                problems.append((f"recon.venues.{name}.source", "'fix' needs a FIX broker of that name (brokers.*)"))
        except SourceError as exc:
            problems.append((f"recon.venues.{name}", str(exc)))
    for name in recon.drift.venues or []:
        if name not in config.venues:
            problems.append(("recon.drift.venues", f"{name!r} is not a REST venue: only those report balances"))
    for name in recon.transfers.venues or []:
        if name not in config.venues:
            problems.append(("recon.transfers.venues", f"{name!r} is not a REST venue: only those list transfers"))
    return problems


def _statement_folder_problems(config: GatewayConfig, venue: str, folder: Path | None) -> list[Problem]:
    """A scheduled run reads each day's statement from the folder: without one it could only fail."""
    if not config.recon.enabled:
        return []  # on demand, `fixgw recon --statement FILE` needs no folder
    key = f"recon.venues.{venue}.statement_dir"
    if folder is None:
        return [(key, "a statement source needs the folder its statements are dropped in (recon.enabled)")]
    if not folder.is_dir():
        return [(key, f"{folder} does not exist" if not folder.exists() else f"{folder} is not a directory")]
    return []
