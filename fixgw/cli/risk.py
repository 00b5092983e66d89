"""`fixgw kill ...` and `fixgw risk ...`: operator controls of pre-trade risk, through the journal.

Each change is written to the journal the gateway uses (a state row plus an audit event with who and why);
running gateways apply it within about a second, a stopped one when it starts (fixgw/risk/control.py).
Exit codes: 0 done, 1 failure (unreadable config, journal error, reload refused or not acknowledged),
2 usage error (bad scope, missing option).
"""

from __future__ import annotations

import getpass
import json
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from fixgw.cli.common import app, config_or_exit, fail

kill_app = typer.Typer(help="Kill switch: block new orders (and optionally cancel open ones) per scope.",
                       no_args_is_help=True)
risk_app = typer.Typer(help="Risk controls: status, circuit-breaker reset, venue ramps, config reload.",
                       no_args_is_help=True)
app.add_typer(kill_app, name="kill")
app.add_typer(risk_app, name="risk")

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The gateway's configuration file (TOML).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit trail).")]
WhoOption = Annotated[str | None, typer.Option("--who", help="Who (recorded in the audit trail); default: login name.")]
ScopeHelp = "global, venue:NAME, account:NAME or session:NAME (an EMS session)"
AUDIT_LINES = 10


def _gateway_identity(path: Path) -> tuple[str, str]:
    """(gateway name, journal URL) from the config file; only those keys are read, so no secret must resolve."""
    from fixgw.config import load_sections

    _, config = config_or_exit(path, lambda path: load_sections(path, ("name", "state_dir", "journal")))
    if config.journal.url is None:
        config.state_dir.mkdir(parents=True, exist_ok=True)  # SQLite in state_dir: the gateway may not have run yet
    return config.name, config.journal_url


@contextmanager
def _journal(path: Path) -> Iterator[Any]:
    """The gateway's journal, open; a journal error ends the command with exit 1 and the reason."""
    from fixgw.store.journal import Journal, JournalError

    _, url = _gateway_identity(path)
    journal = Journal(url)
    try:
        journal.open()
        yield journal
    except (JournalError, ValueError) as exc:
        raise fail(f"journal error: {exc}") from None
    finally:
        journal.close()


def _write(config_path: Path, kind: str, scope: str, active: bool, who: str | None, reason: str,
           cancel_open: bool = False) -> None:
    from fixgw.risk.control import write_switch
    from fixgw.risk.switches import new_switch

    try:
        switch = new_switch(kind, scope, active, who=who or getpass.getuser(), reason=reason, cancel_open=cancel_open)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with _journal(config_path) as journal:
        switch = write_switch(journal, switch)
    typer.echo(f"{switch.describe()}\nrecorded in the journal: running gateways apply it within ~1 s, "
               f"a stopped gateway when it starts.")


@kill_app.command("set")
def kill_set(
    config_path: ConfigOption,
    scope: Annotated[str, typer.Option("--scope", help=ScopeHelp)],
    reason: ReasonOption,
    who: WhoOption = None,
    cancel_open: Annotated[bool, typer.Option("--cancel-open", help="Also cancel every open order in scope.")] = False,
) -> None:
    """Block new orders in a scope (denied with the reason in Text 58); --cancel-open also cancels open orders."""
    from fixgw.risk.switches import KILL

    _write(config_path, KILL, scope, True, who, reason, cancel_open)


@kill_app.command("clear")
def kill_clear(
    config_path: ConfigOption,
    scope: Annotated[str, typer.Option("--scope", help=ScopeHelp)],
    reason: ReasonOption,
    who: WhoOption = None,
) -> None:
    """Lift the kill switch of a scope."""
    from fixgw.risk.switches import KILL

    _write(config_path, KILL, scope, False, who, reason)


@kill_app.command("status")
def kill_status(
    config_path: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Kill switches, circuit breakers and venue ramps as recorded in the journal, and the recent audit trail."""
    _status(config_path, as_json)


@risk_app.command("status")
def risk_status(
    config_path: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Same as `fixgw kill status`."""
    _status(config_path, as_json)


def _status(config_path: Path, as_json: bool) -> None:
    from fixgw.risk.control import read_switches
    from fixgw.risk.switches import AUDIT_ORDER_ID

    with _journal(config_path) as journal:
        switches = read_switches(journal)
        audit = deque(journal.iter_events(order_id=AUDIT_ORDER_ID), maxlen=AUDIT_LINES)
    switches.sort(key=lambda s: (not s.active, s.kind, s.scope))
    if as_json:
        typer.echo(json.dumps({"switches": [json.loads(s.to_json()) for s in switches],
                               "audit": [{"event": e.event, "at": e.at.isoformat(), **e.detail} for e in audit]},
                              indent=2))
        return
    in_force = [s for s in switches if s.active]
    typer.echo("in force:" if in_force else "in force: nothing (no kill switch, no tripped breaker, no lifted ramp)")
    for switch in in_force:
        extra = " (cancels open orders)" if switch.cancel_open else ""
        typer.echo(f"  {switch.describe()}{extra}")
    if audit:
        typer.echo(f"recent changes (last {len(audit)}, oldest first):")
        for event in audit:
            detail = event.detail
            typer.echo(f"  {event.at.isoformat(timespec='seconds')} {event.event} {detail.get('scope', '')} "
                       f"by {detail.get('who', '?')}: {detail.get('reason', '')}".rstrip())


@risk_app.command("reset")
def risk_reset(
    config_path: ConfigOption,
    scope: Annotated[str, typer.Option("--scope", help="The tripped breaker: instrument:ID or venue:NAME.")],
    reason: ReasonOption,
    who: WhoOption = None,
) -> None:
    """Reset a tripped circuit breaker (orders in its scope are accepted again)."""
    from fixgw.risk.switches import BREAKER

    _write(config_path, BREAKER, scope, False, who, reason)


@risk_app.command("lift-ramp")
def risk_lift_ramp(
    config_path: ConfigOption,
    venue: Annotated[str, typer.Option("--venue", help="The venue whose new-venue notional cap to lift.")],
    reason: ReasonOption,
    who: WhoOption = None,
    restore: Annotated[bool, typer.Option("--restore", help="Put the ramp cap back in force instead.")] = False,
) -> None:
    """Lift a new venue's ramp cap (risk.venues.<name>.ramp_notional_cap), or --restore it."""
    from fixgw.risk.switches import RAMP

    _write(config_path, RAMP, f"venue:{venue}", not restore, who, reason)


@risk_app.command("reload")
def risk_reload(
    config_path: ConfigOption,
    who: WhoOption = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the gateway's acknowledgement.")] = 5.0,
) -> None:
    """Validate the file, then ask the running gateway to reload it (as SIGHUP does): risk limits and routing.

    Exit 0 when the gateway acknowledged the request (its log says reload.applied or reload.refused), 1 when the
    file is invalid or no gateway answered within --wait seconds.
    """
    from fixgw.config import ConfigError, load_config
    from fixgw.configcheck import deep_check
    from fixgw.risk.control import reload_ack, request_reload

    try:
        problems = deep_check(load_config(config_path))
    except ConfigError as exc:
        problems = exc.problems
    if problems:
        lines = [f"{config_path}: refused, nothing changed ({len(problems)} error(s)):"]
        lines += [f"  {key}: {reason}" for key, reason in problems]
        raise fail("\n".join(lines))
    name, _ = _gateway_identity(config_path)
    with _journal(config_path) as journal:
        request_id = request_reload(journal, name, who or getpass.getuser())
        deadline = time.monotonic() + wait
        ack = None
        while time.monotonic() < deadline:
            ack = reload_ack(journal, name)
            if ack is not None and ack.get("id") == request_id:
                break
            time.sleep(0.2)
    if ack is None or ack.get("id") != request_id:
        raise fail(f"gateway {name!r} did not acknowledge within {wait:g} s (not running?); "
                    f"it reads the file when it starts")
    if not ack.get("signalled"):
        raise fail(f"gateway {name!r} (pid {ack.get('pid')}) cannot reload: it is not running under `fixgw run`")
    typer.echo(f"gateway {name!r} (pid {ack.get('pid')}) is reloading {config_path}; "
               f"its log reports reload.applied or reload.refused")
