"""Recon built from the gateway configuration: which venues, which broker source for each, the reconciler."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fixgw.config import GatewayConfig
from fixgw.model.instruments import SymbolMaster
from fixgw.recon.run import Reconciler
from fixgw.recon.settings import ReconVenueConfig
from fixgw.recon.settlement import DEFAULT_CALENDARS, SettlementRules, load_calendars
from fixgw.recon.sources import BrokerSource, SourceError
from fixgw.recon.statement import StatementSource, find_mapping
from fixgw.store.journal import Journal


def load_symbols(config: GatewayConfig) -> SymbolMaster:
    return SymbolMaster.from_toml(config.symbols_path.read_text(encoding="utf-8"))


def recon_specs(config: GatewayConfig) -> Path:
    return config.specs_dir / "recon"


def output_dir(config: GatewayConfig) -> Path:
    return _under_state(config, config.recon.output_dir) or config.state_dir / "recon"


def reconciler_for(config: GatewayConfig, journal: Journal, symbols: SymbolMaster | None = None,
                   *, out: Path | None = None) -> Reconciler:
    symbols = symbols or load_symbols(config)
    calendars = load_calendars(recon_specs(config) / "calendars")
    rules = SettlementRules(symbols, calendars, {**DEFAULT_CALENDARS, **config.recon.calendars})
    return Reconciler(journal, symbols, rules, config.recon.tolerances.tolerances(),
                      timezone=config.recon.timezone, output_dir=out or output_dir(config))


def venue_names(config: GatewayConfig) -> list[str]:
    """Every venue reconciled by default: FIX brokers, REST venues and any other venue named under [recon]."""
    return sorted(set(config.brokers) | set(config.venues) | set(config.recon.venues))


def venue_settings(config: GatewayConfig, venue: str) -> ReconVenueConfig:
    return config.recon.venues.get(venue) or ReconVenueConfig()


def source_kind(config: GatewayConfig, venue: str, *, statement: Path | None = None) -> str:
    settings = venue_settings(config, venue)
    if statement is not None:
        return "statement"
    if settings.source is not None:
        return settings.source
    if settings.statement_dir is not None:
        return "statement"
    if venue in config.venues:
        return "rest"
    if venue in config.brokers:
        return "fix"
    raise SourceError(f"{venue}: not a broker or REST venue of this configuration; give it a statement "
                      f"(--statement, or recon.venues.{venue}.statement_dir)")


def statement_folder(config: GatewayConfig, venue: str) -> Path | None:
    """Where `venue`'s statements are dropped (relative statement_dir: under state_dir); None when not set."""
    return _under_state(config, venue_settings(config, venue).statement_dir)


def statement_path(config: GatewayConfig, venue: str, day: date) -> Path:
    settings = venue_settings(config, venue)
    folder = statement_folder(config, venue)
    if folder is None:
        raise SourceError(f"{venue}: no statement file given (--statement) and no recon.venues.{venue}.statement_dir")
    return folder / settings.statement_file.format(venue=venue, date=day.isoformat(), yyyymmdd=day.strftime("%Y%m%d"))


def source_for(config: GatewayConfig, journal: Journal, symbols: SymbolMaster, venue: str, day: date,
               *, statement: Path | None = None) -> BrokerSource:
    kind = source_kind(config, venue, statement=statement)
    if kind == "statement":
        path = statement or statement_path(config, venue, day)
        mapping = find_mapping(recon_specs(config), venue, venue_settings(config, venue).mapping)
        return StatementSource(path, mapping, symbols)
    if kind == "fix":
        from fixgw.fix.dialect import load_dialect
        from fixgw.recon.journal_sources import FixHistorySource

        broker = config.brokers.get(venue)
        dialect = load_dialect(config.dialect_path(broker.dialect)) if broker is not None else None
        return FixHistorySource(journal, venue, symbols, dialect)
    if venue not in config.venues:
        raise SourceError(f"{venue}: source 'rest' needs a REST venue (venues.{venue})")
    from fixgw.recon.rest_source import RestSource
    from fixgw.store.recon import ReconStore

    return RestSource(config.venues[venue], symbols, ReconStore(journal))


def _under_state(config: GatewayConfig, path: Path | None) -> Path | None:
    if path is None:
        return None
    return path if path.is_absolute() else config.state_dir / path
