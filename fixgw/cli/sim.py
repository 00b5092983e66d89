"""`fixgw sim ...`: the simulators' command group (fixgw/sim/cli.py), mounted when fixgw.sim is installed."""

from __future__ import annotations

from fixgw.cli.common import app


def _mount_simulators() -> None:
    try:
        from fixgw.sim.cli import sim_app
    except ModuleNotFoundError:
        return
    app.add_typer(sim_app, name="sim", help="Simulators: a FIX broker and a crypto prime broker.")


_mount_simulators()
