"""Checks of a configuration beyond its schema (files it points to, dialects, symbols) and its summary."""

from __future__ import annotations

from collections.abc import Callable

from fixgw.config import GatewayConfig

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
    target = config.state_dir
    probe = target
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return [("state_dir", f"{probe} is not a directory")]
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
        if not venue.base_url.startswith(("http://", "https://")):
            problems.append((f"venues.{name}.base_url", f"not an http(s) URL: {venue.base_url!r}"))
        ws_url = getattr(venue, "ws_url", None)
        if ws_url and not ws_url.startswith(("ws://", "wss://")):
            problems.append((f"venues.{name}.ws_url", f"not a ws(s) URL: {ws_url!r}"))
        if symbols is not None and not any(venue.kind in instrument.symbols for instrument in symbols):
            problems.append((f"venues.{name}.kind", f"no instrument in {config.symbols_path} has a "
                                                    f"{venue.kind!r} symbol: nothing could trade there"))
    return problems


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


def _check_margin(config: GatewayConfig) -> list[Problem]:
    from fixgw.margin.configcheck import check_margin

    return check_margin(config)


CHECKS: list[Callable[[GatewayConfig], list[Problem]]] = [_check_symbols, _check_dialects, _check_state_dir,
                                                          _check_rest_venues, _check_security, _check_ops,
                                                          _check_dropcopy, _check_risk, _check_recon, _check_margin]


def deep_check(config: GatewayConfig) -> list[Problem]:
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(config))
    return problems


def summarize(config: GatewayConfig) -> list[str]:
    lines = [
        f"gateway {config.name}: state in {config.state_dir}, journal {_safe_url(config.journal_url)}",
        f"EMS acceptor on {config.acceptor.host}:{config.acceptor.port} with {len(config.ems)} session(s)",
    ]
    for name, ems in config.ems.items():
        accounts = ", ".join(ems.allowed_accounts) or "any account"
        lines.append(f"  ems {name}: {ems.begin_string} {ems.sender_comp_id}<-{ems.target_comp_id} "
                     f"dialect {ems.dialect}, {accounts}")
    for name, broker in config.brokers.items():
        lines.append(f"  broker {name}: {broker.begin_string} {broker.sender_comp_id}->{broker.target_comp_id} "
                     f"at {broker.host}:{broker.port}, dialect {broker.dialect}")
    for name, venue in config.venues.items():
        lines.append(f"  REST venue {name}: {venue.kind} at {venue.base_url}, DAY orders: {venue.day_orders}")
    from fixgw.dropcopy.configcheck import summary_lines

    lines.extend(summary_lines(config))
    from fixgw.margin.configcheck import summary_lines as margin_summary

    lines.extend(margin_summary(config))
    lines.append(f"routing: {len(config.routing.rules)} rule(s), default {config.routing.default or '(none: deny)'}")
    for rule in config.routing.rules:
        backup = f", backup {rule.backup}" if rule.backup else ""
        lines.append(f"  rule {rule.name} -> {rule.destination}{backup}")
    return lines


def _safe_url(url: str) -> str:
    # Never print a password embedded in a database URL.
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"
