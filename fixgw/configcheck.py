"""Checks of a configuration beyond its schema (files it points to, dialects, symbols) and its summary."""

from __future__ import annotations

import os
from collections.abc import Callable
from urllib.parse import urlsplit

from fixgw.config import GatewayConfig
from fixgw.venues.registry import plugin_for

Problem = tuple[str, str]


def _check_symbols(config: GatewayConfig) -> list[Problem]:
    from fixgw.model.instruments import SymbolMaster

    path = config.symbols_path
    try:
        SymbolMaster.from_toml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return [("symbols_file", f"cannot read {path}: {exc.strerror}")]
    except Exception as exc:
        return [("symbols_file", f"{path}: {exc}")]
    return []


def _check_dialects(config: GatewayConfig) -> list[Problem]:
    from fixgw.fix.dialect import load_dialect

    problems: list[Problem] = []
    sessions = [(f"ems.{name}.dialect", s.dialect, s.begin_string) for name, s in config.ems.items()]
    sessions += [(f"brokers.{name}.dialect", s.dialect, s.begin_string) for name, s in config.brokers.items()]
    for key, dialect, begin_string in sessions:
        path = config.dialect_path(dialect)
        if not path.is_file():
            problems.append((key, f"no dialect {dialect!r} ({path} does not exist)"))
            continue
        try:
            loaded = load_dialect(path)
        except Exception as exc:
            problems.append((key, f"dialect {dialect!r} is invalid: {exc}"))
            continue
        if begin_string not in loaded.begin_strings:
            problems.append((key, f"dialect {dialect!r} does not speak {begin_string} "
                                  f"(only {', '.join(loaded.begin_strings)})"))
    return problems


def _check_state_dir(config: GatewayConfig) -> list[Problem]:
    """The state dir exists and is writable, or can be created (its nearest existing parent is writable)."""
    target = config.state_dir
    probe = target
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return [("state_dir", f"{target}: cannot be created, {probe} is not a directory")]
    if not os.access(probe, os.W_OK | os.X_OK):  # also false on a read-only or immutable folder, even for root
        return [("state_dir", f"{target} is not writable" if probe == target
                 else f"{target}: cannot be created, {probe} is not writable")]
    return []


def _check_journal(config: GatewayConfig) -> list[Problem]:
    from fixgw.store.database import journal_url

    try:
        journal_url(config.journal_url)
    except Exception as exc:  # the URL's text is not shown: it may hold the password
        reason = str(exc) if isinstance(exc, ValueError) and "unsupported" in str(exc) else "not a database URL"
        return [("journal.url", f"{reason} (sqlite:///path/journal.db or postgresql+psycopg://user@host/db)")]
    return []


def _check_rest_venues(config: GatewayConfig) -> list[Problem]:
    """Each REST venue has an http(s) base URL and instruments in the symbol master under its symbol scheme."""
    from fixgw.model.instruments import SymbolMaster

    problems: list[Problem] = []
    try:
        symbols = SymbolMaster.from_toml(config.symbols_path.read_text(encoding="utf-8"))
    except Exception:
        symbols = None  # reported by _check_symbols
    for name, venue in config.venues.items():
        check = plugin_for(venue.kind).check
        problems += check(name, venue, symbols) if check is not None else []
    return problems + _check_venue_accounts(config)


def _check_venue_accounts(config: GatewayConfig) -> list[Problem]:
    """A venue's per-account settings (`venues.<name>.accounts.<account>`) name accounts an EMS may send: when
    every EMS session lists its allowed accounts, one in none of the lists is a typo (it would never apply)."""
    sessions = list(config.ems.values())
    if not sessions or any(not session.allowed_accounts for session in sessions):
        return []
    allowed = {account for session in sessions for account in session.allowed_accounts}
    return [(f"venues.{name}.accounts.{account}", f"no EMS session may send account {account!r} "
                                                  f"(allowed: {sorted(allowed)})")
            for name, venue in config.venues.items()
            for account in getattr(venue, "accounts", None) or {} if account not in allowed]


def _check_security(config: GatewayConfig) -> list[Problem]:
    from fixgw.security.checks import security_problems

    return security_problems(config)


def _check_dropcopy(config: GatewayConfig) -> list[Problem]:
    from fixgw.dropcopy.configcheck import check_dropcopy

    return check_dropcopy(config)


def _check_ops(config: GatewayConfig) -> list[Problem]:
    from fixgw.ops.configcheck import check_ops

    return check_ops(config)


def _check_risk(config: GatewayConfig) -> list[Problem]:
    from fixgw.risk.configcheck import check_risk

    return check_risk(config)


def _check_recon(config: GatewayConfig) -> list[Problem]:
    from fixgw.recon.configcheck import check_recon

    return check_recon(config)


def _check_marketdata(config: GatewayConfig) -> list[Problem]:
    from fixgw.marketdata.configcheck import check_marketdata

    return check_marketdata(config)


def _check_margin(config: GatewayConfig) -> list[Problem]:
    from fixgw.margin.configcheck import check_margin

    return check_margin(config)


CHECKS: list[Callable[[GatewayConfig], list[Problem]]] = [_check_symbols, _check_dialects, _check_state_dir,
                                                          _check_rest_venues, _check_security, _check_ops,
                                                          _check_dropcopy, _check_risk, _check_recon, _check_journal,
                                                          _check_marketdata, _check_margin]


def deep_check(config: GatewayConfig) -> list[Problem]:
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(config))
    return problems


def summarize(config: GatewayConfig) -> list[str]:
    from fixgw.store.database import display_url

    lines = [
        f"gateway {config.name}: state in {config.state_dir}, journal {display_url(config.journal_url)}",
        f"EMS acceptor on {config.acceptor.host}:{config.acceptor.port} with {len(config.ems)} session(s)",
    ]
    for name, ems in config.ems.items():
        accounts = ", ".join(ems.allowed_accounts) or "any account"
        lines.append(f"  ems {name}: {ems.begin_string} {ems.sender_comp_id}<-{ems.target_comp_id} "
                     f"dialect {ems.dialect}, {accounts}")
    for name, broker in config.brokers.items():
        lines.append(f"  broker {name}: {broker.begin_string} {broker.sender_comp_id}->{broker.target_comp_id} "
                     f"at {broker.host}:{broker.port}, dialect {broker.dialect}")
    for venue in config.venues.values():
        summary = plugin_for(venue.kind).summary
        lines.append(f"  {summary(venue) if summary is not None else f'venue {venue.name}: {venue.kind}'}")
    from fixgw.dropcopy.configcheck import summary_lines

    lines.extend(summary_lines(config))
    from fixgw.marketdata.configcheck import summary_lines as marketdata_lines

    lines.extend(marketdata_lines(config))
    from fixgw.margin.configcheck import summary_lines as margin_summary

    lines.extend(margin_summary(config))
    lines.append(f"routing: {len(config.routing.rules)} rule(s), default {config.routing.default or '(none: deny)'}")
    for rule in config.routing.rules:
        backup = f", backup {rule.backup}" if rule.backup else ""
        lines.append(f"  rule {rule.name} -> {rule.destination}{backup}")
    lines += [_risk_line(config), _admin_line(config), _alerts_line(config), _recon_line(config), _ha_line(config)]
    return lines


def _ha_line(config: GatewayConfig) -> str:
    ha = config.ha
    if not ha.enabled:
        return "ha: off (one node)"
    return (f"ha: node {ha.node_id} of cluster {ha.cluster}; lease {ha.lease_s:g} s, renewed every "
            f"{ha.renew_period_s:g} s; standby polls every {ha.poll_every_s:g} s")


def _risk_line(config: GatewayConfig) -> str:
    risk = config.risk
    if not risk.enabled:
        return "risk: disabled (no pre-trade checks)"
    limits = ", ".join(f"{key} {value}" for key, value in risk.defaults.model_dump(exclude_none=True).items()
                       if not isinstance(value, list | bool)) or "none"
    scopes = [(len(risk.accounts), "account"), (len(risk.ems), "EMS session"), (len(risk.instruments), "instrument"),
              (len(risk.asset_classes), "asset class"), (len(risk.venues), "venue")]
    scoped = ", ".join(f"{count} {what}(s)" for count, what in scopes if count) or "none"
    restricted = f", {len(risk.restricted)} restricted instrument(s)" if risk.restricted else ""
    return f"risk: on; defaults {limits}; own limits for {scoped}{restricted}"


def _admin_line(config: GatewayConfig) -> str:
    admin = config.admin
    if not admin.enabled:
        return "admin: disabled (no health, metrics or controls over HTTP)"
    required = ", ".join(admin.required_sessions) if admin.required_sessions is not None else "every venue"
    return f"admin: on {admin.host}:{admin.port} (bearer token), ready when logged on: {required}"


def _alerts_line(config: GatewayConfig) -> str:
    alerts = config.alerts
    if not alerts.sinks:
        return "alerts: no sink (alerts are only logged)"
    # Only the host of a webhook: its path and query hold the key (Slack, PagerDuty URLs).
    sinks = ", ".join(f"{name} ({sink.kind} to {urlsplit(sink.url.get_secret_value()).hostname or '?'})"
                      for name, sink in alerts.sinks.items())
    return f"alerts: {sinks}; evaluated every {alerts.evaluate_every_s:g} s"


def _recon_line(config: GatewayConfig) -> str:
    from fixgw.recon.sources import SourceError
    from fixgw.recon.wiring import source_kind, venue_names

    recon = config.recon
    if not recon.enabled:
        return "recon: not scheduled (`fixgw recon` runs on demand)"
    sources = []
    for venue in venue_names(config):
        try:
            sources.append(f"{venue} ({source_kind(config, venue)})")
        except SourceError:
            sources.append(f"{venue} (no source)")
    drift = f", drift every {recon.drift.every_minutes} min" if recon.drift.enabled else ""
    return f"recon: end of day at '{recon.eod_cron}' {recon.timezone}: {', '.join(sources) or 'no venue'}{drift}"
