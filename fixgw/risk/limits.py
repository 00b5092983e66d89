"""Which configured limits apply to an order: resolved once per (EMS session, account, instrument), then cached.

Rule (see fixgw/risk/settings.py): every limit set for the order's account, EMS session, instrument or asset
class applies, the smallest wins; `risk.defaults` only fills keys none of them sets. A price check set to 0
in a scope is off there (it does not win the minimum; defaults do not fill it in). Each resolved limit
carries where it came from, so a denial can name the configuration key to look at.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from decimal import Decimal

from fixgw.model.instruments import Instrument
from fixgw.risk.settings import LIMIT_KEYS, OrderLimits, RiskConfig, VenueRisk

_CACHE_MAX = 65_536
_DEFAULT_VENUE = VenueRisk()


@dataclass(frozen=True, slots=True)
class Limit:
    value: Decimal
    source: str
    """The configuration section that set it, e.g. "risk.accounts.ACC1"."""


@dataclass(frozen=True, slots=True)
class OrderRules:
    """Everything configured that applies to orders of one (EMS session, account, instrument)."""

    max_order_qty: Limit | None = None
    max_order_notional: Limit | None = None
    price_collar_pct: Limit | None = None
    fat_finger_pct: Limit | None = None
    max_position_qty: Limit | None = None
    max_concentration_pct: Limit | None = None
    credit_limit: Limit | None = None
    max_orders_per_second: Limit | None = None
    restricted_by: str | None = None
    """Why the instrument is restricted for this order (a config key), None when it is not."""
    reference_price: Decimal | None = None
    """The configured reference price of the instrument (a fallback for market prices)."""

    @property
    def values_orders(self) -> bool:
        """True when a limit needs the order's notional (a market order then needs a reference price)."""
        return (self.max_order_notional is not None or self.credit_limit is not None
                or self.max_concentration_pct is not None)


class RiskRules:
    """The resolved view of one `RiskConfig`; replaced as a whole on reload."""

    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self._cache: dict[tuple[str, str | None, str], OrderRules] = {}
        self._restricted = _patterns(config.restricted)
        self._account_restricted = {name: _patterns(a.restricted) for name, a in config.accounts.items()}
        self._ems_restricted = {name: _patterns(e.restricted) for name, e in config.ems.items()}

    def venue(self, name: str) -> VenueRisk:
        return self.config.venues.get(name, _DEFAULT_VENUE)

    def for_order(self, session: str, account: str | None, instrument: Instrument) -> OrderRules:
        key = (session, account, instrument.id)
        rules = self._cache.get(key)
        if rules is None:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            rules = self._cache[key] = self._resolve(session, account, instrument)
        return rules

    def _resolve(self, session: str, account: str | None, instrument: Instrument) -> OrderRules:
        config = self.config
        account_risk = config.accounts.get(account) if account is not None else None
        ems_risk = config.ems.get(session)
        instrument_risk = config.instruments.get(instrument.id)
        class_risk = config.asset_classes.get(instrument.asset_class)
        scopes: list[tuple[str, OrderLimits]] = []
        if account_risk is not None:
            scopes.append((f"risk.accounts.{account}", account_risk))
        if ems_risk is not None:
            scopes.append((f"risk.ems.{session}", ems_risk))
        if instrument_risk is not None:
            scopes.append((f"risk.instruments.{instrument.id}", instrument_risk))
        if class_risk is not None:
            scopes.append((f"risk.asset_classes.{instrument.asset_class.value}", class_risk))
        resolved: dict[str, Limit | None] = {}
        for name in LIMIT_KEYS:
            found, switched_off = _smallest(name, scopes)
            if found is None and not switched_off:
                found = _limit(name, config.defaults, "risk.defaults")
            resolved[name] = None if found is not None and found.value == 0 else found
        credit = (_limit("credit_limit", account_risk, f"risk.accounts.{account}")
                  or _limit("credit_limit", config.defaults, "risk.defaults"))
        rate = (_limit("max_orders_per_second", ems_risk, f"risk.ems.{session}")
                or _limit("max_orders_per_second", config.defaults, "risk.defaults"))
        return OrderRules(**resolved, credit_limit=credit, max_orders_per_second=rate,
                          restricted_by=self._restricted_by(session, account, instrument),
                          reference_price=instrument_risk.reference_price if instrument_risk else None)

    def _restricted_by(self, session: str, account: str | None, instrument: Instrument) -> str | None:
        config = self.config
        if (found := config.instruments.get(instrument.id)) is not None and found.restricted:
            return f"risk.instruments.{instrument.id}.restricted"
        if (by_class := config.asset_classes.get(instrument.asset_class)) is not None and by_class.restricted:
            return f"risk.asset_classes.{instrument.asset_class.value}.restricted"
        for source, patterns in (("risk.restricted", self._restricted),
                                 (f"risk.accounts.{account}.restricted", self._account_restricted.get(account or "")),
                                 (f"risk.ems.{session}.restricted", self._ems_restricted.get(session))):
            for text, pattern in patterns or ():
                if pattern.match(instrument.id):
                    return f"{source} ({text!r})"
        return None


def _patterns(globs: list[str]) -> list[tuple[str, re.Pattern[str]]]:
    return [(glob, re.compile(fnmatch.translate(glob))) for glob in globs]


def _limit(name: str, section: object, source: str) -> Limit | None:
    value = getattr(section, name, None) if section is not None else None
    return None if value is None else Limit(Decimal(value), source)


def _smallest(name: str, scopes: list[tuple[str, OrderLimits]]) -> tuple[Limit | None, bool]:
    """The smallest non-zero value the scopes set, and whether one of them set 0 (a price check off there)."""
    best: Limit | None = None
    switched_off = False
    for source, section in scopes:
        found = _limit(name, section, source)
        if found is not None and found.value == 0:
            switched_off = True
        elif found is not None and (best is None or found.value < best.value):
            best = found
    return best, switched_off
