"""The `[recon]` configuration section: end-of-day schedule, broker sources per venue, tolerances, calendars,
intraday drift. Write decimals as strings ("0.5"), never as TOML floats. Imports only the model (config.py
imports this module)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fixgw.model.decimals import Dec
from fixgw.model.enums import AssetClass
from fixgw.recon.records import Tolerances
from fixgw.recon.transfers.settings import TransferReconConfig

SourceKind = Literal["statement", "fix", "rest"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as America/New_York)") from None
    return name


def _crontab(text: str) -> str:
    if len(text.split()) != 5:
        raise ValueError(f"{text!r}: a crontab expression has 5 fields (minute hour day month weekday)")
    return text


class ReconTolerances(_Section):
    price_ticks: int = Field(default=0, ge=0, le=10_000)
    """Prices within this many ticks (the instrument's tick size) match."""
    qty: Dec = Field(default=Decimal(0), ge=0)
    cash: Dec = Field(default=Decimal("0.01"), ge=0)
    time_window_s: int = Field(default=120, ge=0, le=86_400)
    """Trades without a common trade id pair when this close in time (and on instrument, side, qty, price)."""

    def tolerances(self) -> Tolerances:
        return Tolerances(self.price_ticks, self.qty, self.cash, timedelta(seconds=self.time_window_s))


class TradingHours(_Section):
    timezone: str = "America/New_York"
    start: str = Field(default="09:30", pattern=r"^\d\d:\d\d$")
    end: str = Field(default="16:00", pattern=r"^\d\d:\d\d$")
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    """Weekdays, Monday = 0; a 24/7 crypto desk lists all seven and 00:00-24:00."""

    _zone = field_validator("timezone")(_zone)


class DriftConfig(_Section):
    enabled: bool = True
    every_minutes: int = Field(default=15, ge=1, le=1440)
    threshold_pct: Dec = Field(default=Decimal("0.5"), gt=0)
    """Pause a venue when our positions (or margin usage) differ from its own by more than this % of the
    portfolio's value there."""
    trading_hours: TradingHours = TradingHours()
    pause_trading: bool = True
    """Set the kill switch of the venue (or of `recon.venues.<v>.account`) on a breach; False: alert only."""
    venues: list[str] | None = None
    """Venues checked; default every venue whose source reports balances (REST venues)."""


class ReconVenueConfig(_Section):
    source: SourceKind | None = None
    """Where the broker's side comes from; default: statement when statement_dir is set, else "fix" for a FIX
    broker (ExecutionReport / TradeCaptureReport history in the journal) and "rest" for a REST venue."""
    statement_dir: Path | None = None
    """Folder the broker's statements are dropped in (relative: to state_dir)."""
    statement_file: str = "{venue}-{date}.csv"
    """Statement file name; {venue}, {date} (YYYY-MM-DD) and {yyyymmdd} are filled in."""
    mapping: str | None = None
    """Column mapping `specs/recon/<mapping>.toml`; default the venue's name when such a file exists, else
    `default`."""
    eod_cron: str | None = None
    """This venue's end-of-day run (crontab, in recon.timezone); default recon.eod_cron."""
    account: str | None = None
    """Drift pauses this account (kill switch `account:<name>`) instead of the whole venue."""

    @field_validator("eod_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else _crontab(value)


class ReconConfig(_Section):
    enabled: bool = False
    """Run the scheduled jobs inside the daemon (`fixgw recon` works either way)."""
    timezone: str = "America/New_York"
    eod_cron: str = "30 17 * * 1-5"
    """End-of-day reconciliation of each venue (crontab: minute hour day month weekday), in `timezone`."""
    catch_up_hours: int = Field(default=24, ge=0, le=168)
    """A scheduled run missed while the daemon was down runs once on start when it is at most this old."""
    output_dir: Path | None = None
    """Break reports (CSV, JSON); default <state_dir>/recon; relative: to state_dir."""
    tolerances: ReconTolerances = ReconTolerances()
    calendars: dict[AssetClass, str] = Field(default_factory=dict)
    """Holiday calendar (a name in specs/recon/calendars/) per asset class, over the defaults
    (US settlement calendar; crypto 24x7)."""
    venues: dict[str, ReconVenueConfig] = Field(default_factory=dict)
    """Per-venue sources; venues not listed reconcile with their default source."""
    drift: DriftConfig = DriftConfig()
    transfers: TransferReconConfig = TransferReconConfig()
    """Deposits and withdrawals of the prime brokers against the chains (`fixgw recon --transfers`)."""

    _zone = field_validator("timezone")(_zone)

    @field_validator("eod_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _crontab(value)
