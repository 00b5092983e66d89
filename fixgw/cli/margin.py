"""`fixgw margin status|stress`: the desk's collateral and margin as the running gateway last journaled it.

Reads journal state only (`margin.last`, `margin.books`), so it works from any host on the journal and whether or
not the gateway runs. Exit 0; 1 when no margin snapshot was journaled yet or the journal cannot be read.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fixgw.cli.common import app, fail
from fixgw.cli.risk import ConfigOption, _journal

margin_app = typer.Typer(help="Collateral and margin across the prime brokers: status and stress.",
                         no_args_is_help=True)
app.add_typer(margin_app, name="margin")

VenueOption = Annotated[str | None, typer.Option("--venue", help="Only this venue.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@margin_app.command("status")
def status(config_path: ConfigOption, venue: VenueOption = None, as_json: JsonOption = False) -> None:
    """Collateral, liabilities, equity, requirements, margin ratio, excess and liquidation distance per venue."""
    from fixgw.margin.report import interest_line
    from fixgw.margin.service import INTEREST_STATE, LAST_STATE

    with _journal(config_path) as journal:
        text = journal.get_state(LAST_STATE)
        interest_text = journal.get_state(INTEREST_STATE)
    interest = json.loads(interest_text) if interest_text else None
    if not text:
        raise fail("no margin snapshot journaled yet (is [margin] enabled on a running gateway?)")
    last = json.loads(text)
    if venue is not None:
        if venue not in last["venues"]:
            raise fail(f"--venue {venue}: not a margin venue (known: {sorted(last['venues'])})")
        last["venues"] = {venue: last["venues"][venue]}
    if as_json:
        typer.echo(json.dumps(last, indent=2))
        return
    console = Console(highlight=False)
    console.print(f"margin as of {last['as_of']}", markup=False)
    for name, figures in last["venues"].items():
        console.print(
            f"{name} [{figures['mode']}] {figures['state'].upper()}: ratio {figures['margin_ratio'] or '-'}, "
            f"equity {figures['equity']}, maintenance {figures['requirement_maintenance']}, excess "
            f"{figures['excess']}, liquidation distance {_pct(figures['liquidation_distance_pct'])}, drift vs PB "
            f"{_pct(figures['drift_pct'])}", markup=False)
        for line in figures["assets"]:
            console.print(f"  {line['asset']}: {line['quantity']} @ {line['price']} haircut {line['haircut']} "
                          f"-> {line['value']}", markup=False)
        accrued = interest_line(name, interest)
        if accrued is not None:
            console.print(f"  {accrued}", markup=False)
    desk = last["desk"]
    console.print(f"desk: collateral {desk['collateral_value']}, liabilities {desk['liabilities']}, equity "
                  f"{desk['equity']}, maintenance {desk['requirement_maintenance']}, excess {desk['excess']}",
                  markup=False)


@margin_app.command("stress")
def stress(config_path: ConfigOption, shock: Annotated[list[str] | None, typer.Option(
        "--shock", help="-20% (every asset), BTC:-30%, vol:x2, or several joined by commas; repeatable. "
                        "Default: -10%, -20%, -30% and volatility x2.")] = None,
        venue: VenueOption = None, as_json: JsonOption = False) -> None:
    """Each venue's margin ratio, excess and state after price and volatility shocks; delta per asset."""
    from fixgw.margin.service import BOOKS_STATE, load_table
    from fixgw.margin.view import stress_json, view_from_json
    from fixgw.model.margin_stress import DEFAULT_SHOCKS, parse_shock

    try:
        shocks = [parse_shock(text) for text in shock] if shock else list(DEFAULT_SHOCKS)
    except ArithmeticError:
        raise fail(f"--shock {shock}: expected e.g. -20%, BTC:-30% or vol:x2") from None
    table = load_table(_haircuts_path(config_path))
    with _journal(config_path) as journal:
        text = journal.get_state(BOOKS_STATE)
    if not text:
        raise fail("no margin snapshot journaled yet (is [margin] enabled on a running gateway?)")
    books = [book for book in json.loads(text) if venue is None or book["venue"] == venue]
    result = stress_json([view_from_json(book, table) for book in books], shocks)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console = Console(highlight=False)
    for row in result["shocks"]:
        parts = [f"{name} ratio {v['margin_ratio'] or '-'} excess {v['excess']} {v['state']}"
                 for name, v in row["venues"].items()]
        console.print(f"{row['shock']}: " + "; ".join(parts), markup=False)
    console.print("delta: " + ", ".join(f"{d['asset']} {d['quantity']} ({d['notional']})" for d in result["delta"]),
                  markup=False)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value}%"


def _haircuts_path(config_path: Path) -> Path:
    from fixgw.config import DEFAULT_SPECS_DIR

    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise fail(f"{config_path}: {exc}") from None
    base = config_path.resolve().parent
    configured = data.get("margin", {}).get("haircuts_file")
    if configured:
        return base / str(configured)
    specs = data.get("specs_dir")
    return (base / specs if specs else DEFAULT_SPECS_DIR) / "margin" / "haircuts.toml"
