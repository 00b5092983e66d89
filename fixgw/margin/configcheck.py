"""`fixgw check-config` for `[margin]`: the haircut table loads (a bad entry names its key), each margin venue has
an account-data source, Coinbase Prime margin venues name their entity; and the summary line."""

from __future__ import annotations

from typing import Any

Problem = tuple[str, str]


def check_margin(config: Any) -> list[Problem]:
    from fixgw.margin.service import build_fetchers, load_table
    from fixgw.model.margin_haircuts import MarginTableError
    from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig

    margin = config.margin
    if not margin.enabled:
        return []
    problems: list[Problem] = []
    try:
        load_table(config.haircuts_path)
    except OSError as exc:
        problems.append(("margin.haircuts_file", f"cannot read {config.haircuts_path}: {exc.strerror}"))
    except (MarginTableError, ValueError) as exc:
        problems.append(("margin.haircuts_file", f"{config.haircuts_path}: {exc}"))
    if not margin.venues:
        problems.append(("margin.venues", "margin is enabled but no venue is listed"))
    try:
        build_fetchers(config.venues, margin.venues, {name: lambda: None for name in config.brokers})
    except ValueError as exc:
        key, _, reason = str(exc).partition(": ")
        problems.append((key, reason))
    for name, venue in margin.venues.items():
        if name in config.brokers:
            if not venue.account:
                problems.append((f"margin.venues.{name}.account",
                                 "a FIX broker's positions are asked for one Account(1)"))
            problems.extend(_dialect_problems(config, name))
        if isinstance(config.venues.get(name), CoinbasePrimeConfig) and not venue.entity_id:
            problems.append((f"margin.venues.{name}.entity_id",
                             "Coinbase Prime margin needs the entity id (GET /v1/entities/{entity_id}/margin)"))
    return problems


def _dialect_problems(config: Any, name: str) -> list[Problem]:
    from fixgw.fix.dialect import DialectConfigError, load_dialect

    broker = config.brokers[name]
    try:
        dialect = load_dialect(config.dialect_path(broker.dialect))
    except (DialectConfigError, OSError):
        return []   # the dialect check names that problem
    if not dialect.account_data:
        return [(f"margin.venues.{name}", f"broker {name}'s dialect {broker.dialect} does not answer "
                                          f"RequestForPositions / CollateralInquiry (account_data = true)")]
    return []


def summary_lines(config: Any) -> list[str]:
    from fixgw.model.decimals import fmt_decimal

    margin = config.margin
    if not margin.enabled:
        return []
    venues = ", ".join(f"{name} ({v.mode}, warn < {fmt_decimal(v.warn)}, reduce_only < {fmt_decimal(v.reduce_only)}, "
                       f"critical < {fmt_decimal(v.critical)})" for name, v in margin.venues.items())
    return [f"margin: every {margin.snapshot_s:g} s, haircuts {config.haircuts_path}, cross-venue netting "
            f"{'on' if margin.cross_venue_netting else 'off'}: {venues}"]
