"""`fixgw check-config` checks of the `[marketdata]` section beyond its schema (fixgw/configcheck.py calls it)."""

from __future__ import annotations

from fixgw.config import GatewayConfig


def check_marketdata(config: GatewayConfig) -> list[tuple[str, str]]:
    """Instruments the sources and policies name exist in the symbol master; a fix_broker source rides a broker
    whose dialect publishes market data."""
    return _fix_brokers(config) + _instruments(config)


def _fix_brokers(config: GatewayConfig) -> list[tuple[str, str]]:
    from fixgw.fix.dialect import load_dialect

    problems = []
    for name, source in config.marketdata.sources.items():
        broker = config.brokers.get(source.venue or "") if source.kind == "fix_broker" else None
        if broker is None:
            continue
        try:
            dialect = load_dialect(config.dialect_path(broker.dialect))
        except Exception:
            continue  # reported by the dialect check
        if not dialect.market_data:
            problems.append((f"marketdata.sources.{name}.venue", f"the dialect {broker.dialect!r} of brokers."
                             f"{source.venue} does not publish market data (market_data = true)"))
    return problems


def _instruments(config: GatewayConfig) -> list[tuple[str, str]]:
    from fixgw.model.instruments import SymbolMaster

    marketdata = config.marketdata
    named = [(f"marketdata.sources.{name}.instruments.{instrument}", instrument)
             for name, source in marketdata.sources.items() for instrument in source.instruments]
    named += [(f"marketdata.instruments.{instrument}", instrument) for instrument in marketdata.instruments]
    if not named:
        return []
    try:
        symbols = SymbolMaster.from_toml(config.symbols_path.read_text(encoding="utf-8"))
    except Exception:
        return []  # reported by the symbol master check
    known = {instrument.id for instrument in symbols}
    return [(key, f"no such instrument in {config.symbols_path}") for key, instrument in named
            if instrument not in known]


def summary_lines(config: GatewayConfig) -> list[str]:
    marketdata = config.marketdata
    if not marketdata.sources:
        return []
    lines = [f"marketdata: {len(marketdata.sources)} source(s), journaled every {marketdata.journal_period_s} s, "
             f"day cut-off {marketdata.day_cutoff.isoformat()} UTC"]
    for name, source in marketdata.sources.items():
        lines.append(f"  source {name}: {source.kind} for {', '.join(source.instruments)}")
    return lines
