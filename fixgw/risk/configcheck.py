"""`fixgw check-config` checks of the `[risk]` section beyond its schema (fixgw/configcheck.py calls it)."""

from __future__ import annotations

from fixgw.config import GatewayConfig


def check_risk(config: GatewayConfig) -> list[tuple[str, str]]:
    """Instruments named under risk.instruments exist; accounts under risk.accounts can be traded at all."""
    from fixgw.model.instruments import SymbolMaster

    problems: list[tuple[str, str]] = []
    risk = config.risk
    if risk.instruments:
        try:
            symbols = SymbolMaster.from_toml(config.symbols_path.read_text(encoding="utf-8"))
        except Exception:
            symbols = None  # reported by the symbol master check
        if symbols is not None:
            known = {instrument.id for instrument in symbols}
            problems += [(f"risk.instruments.{name}", f"no such instrument in {config.symbols_path}")
                         for name in risk.instruments if name not in known]
    if config.ems and all(ems.allowed_accounts for ems in config.ems.values()):
        tradable = {account for ems in config.ems.values() for account in ems.allowed_accounts}
        problems += [(f"risk.accounts.{name}", "no EMS session may trade this account (ems.<name>.allowed_accounts)")
                     for name in risk.accounts if name not in tradable]
    return problems
