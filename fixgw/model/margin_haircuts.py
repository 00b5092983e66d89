"""Per-asset margin parameters (specs/margin/haircuts.toml): haircuts (fixed or volatility-scaled), requirement
rates, the interest kink model, and the realized volatility the scaled haircut needs. Pure: Decimal only.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

_ZERO = Decimal(0)
_ONE = Decimal(1)
_DAY_S = Decimal(86_400)


class MarginTableError(ValueError):
    """A haircut table entry that is missing, not a decimal string, or out of range (names the key)."""


@dataclass(frozen=True, slots=True)
class KinkRate:
    """Annual borrow rate from utilization: base + slope1 * U up to u_opt, then + slope2 * (U - u_opt)."""

    base: Decimal
    slope1: Decimal
    slope2: Decimal
    u_opt: Decimal
    line: Decimal | None = None
    """The credit line U is measured against (borrowed / line); None: the caller supplies U."""

    def annual_rate(self, utilization: Decimal) -> Decimal:
        u = max(_ZERO, utilization)
        below = min(u, self.u_opt)
        above = max(_ZERO, u - self.u_opt)
        return self.base + self.slope1 * below + self.slope2 * above

    def utilization(self, borrowed: Decimal) -> Decimal:
        if not self.line:
            return _ZERO
        return borrowed / self.line


@dataclass(frozen=True, slots=True)
class AssetRule:
    asset: str
    asset_class: str = "crypto"
    cash: bool = False
    haircut: Decimal = _ZERO
    """The fixed haircut, or the scaled haircut's value while no volatility is known."""
    vol_k: Decimal | None = None
    vol_floor: Decimal = _ZERO
    vol_cap: Decimal = _ONE
    horizon_days: Decimal = _ONE
    maintenance: Decimal = _ZERO
    initial: Decimal = _ZERO
    interest: KinkRate | None = None

    @property
    def volatility_scaled(self) -> bool:
        return self.vol_k is not None

    def haircut_for(self, sigma_daily: Decimal | None, vol_multiplier: Decimal = _ONE) -> Decimal:
        """clamp(floor, cap, k * sigma_daily * sqrt(horizon_days)) when scaled and sigma is known, else the fixed
        haircut; `vol_multiplier` is the stress's volatility shock (a fixed haircut grows by the same factor,
        capped at 1)."""
        if self.vol_k is None or sigma_daily is None:
            return min(_ONE, self.haircut * vol_multiplier)
        raw = self.vol_k * sigma_daily * vol_multiplier * self.horizon_days.sqrt()
        return min(self.vol_cap, max(self.vol_floor, raw))


@dataclass(frozen=True, slots=True)
class MarginTable:
    """The rules of every asset; an asset with no entry is crypto with its class's defaults."""

    assets: Mapping[str, AssetRule] = field(default_factory=dict)
    classes: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)

    def rule(self, asset: str, default_class: str = "crypto") -> AssetRule:
        """The asset's entry; an unlisted asset takes `default_class`'s rates (the venue's asset class)."""
        found = self.assets.get(asset)
        if found is not None:
            return found
        defaults = self.classes.get(default_class, {})
        return AssetRule(asset, default_class, haircut=defaults.get("haircut", _ZERO),
                         maintenance=defaults.get("maintenance", _ZERO), initial=defaults.get("initial", _ZERO))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MarginTable:
        """Build from the parsed TOML; a bad entry raises MarginTableError naming `asset.X.key`."""
        classes: dict[str, dict[str, Decimal]] = {}
        for name, entry in dict(data.get("class", {})).items():
            classes[name] = {key: _fraction(f"class.{name}.{key}", entry[key])
                             for key in ("haircut", "maintenance", "initial") if key in entry}
        assets: dict[str, AssetRule] = {}
        known = {"cash", "class", "haircut", "vol_k", "vol_floor", "vol_cap", "horizon_days", "maintenance",
                 "initial", "interest"}
        for asset, entry in dict(data.get("asset", {})).items():
            unknown = set(entry) - known
            if unknown:
                raise MarginTableError(f"asset.{asset}.{sorted(unknown)[0]}: unknown key")
            asset_class = str(entry.get("class", "crypto"))
            defaults = classes.get(asset_class, {})
            where = f"asset.{asset}"

            def pick(key: str, where: str = where, entry: Mapping[str, Any] = entry,
                     defaults: Mapping[str, Decimal] = defaults) -> Decimal:
                if key in entry:
                    return _fraction(f"{where}.{key}", entry[key])
                return defaults.get(key, _ZERO)

            interest = None
            if "interest" in entry:
                kink = entry["interest"]
                try:
                    base, slope1, slope2, u_opt = (_number(f"{where}.interest.{key}", kink[key])
                                                   for key in ("base", "slope1", "slope2", "u_opt"))
                    line = _number(f"{where}.interest.line", kink["line"]) if "line" in kink else None
                    interest = KinkRate(base, slope1, slope2, u_opt, line)
                except KeyError as exc:
                    raise MarginTableError(f"{where}.interest.{exc.args[0]}: missing") from None
            vol_k = _number(f"{where}.vol_k", entry["vol_k"]) if "vol_k" in entry else None
            assets[asset] = AssetRule(
                asset, asset_class, bool(entry.get("cash", False)), pick("haircut"), vol_k,
                _fraction(f"{where}.vol_floor", entry.get("vol_floor", "0")),
                _fraction(f"{where}.vol_cap", entry.get("vol_cap", "1")),
                _number(f"{where}.horizon_days", entry.get("horizon_days", "1")),
                pick("maintenance"), pick("initial"), interest)
        return cls(assets, classes)


def _number(key: str, raw: Any) -> Decimal:
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        raise MarginTableError(f"{key}: expected a decimal string, got {raw!r}")
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise MarginTableError(f"{key}: not a decimal number: {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise MarginTableError(f"{key}: must be a finite number >= 0, got {raw!r}")
    return value


def _fraction(key: str, raw: Any) -> Decimal:
    value = _number(key, raw)
    if value > 1:
        raise MarginTableError(f"{key}: a fraction between 0 and 1 (0.10 = 10%), got {raw!r}")
    return value


def realized_vol_daily(prices: Sequence[Decimal], interval: timedelta) -> Decimal | None:
    """Daily realized volatility: the sample standard deviation of log returns between consecutive prices
    taken every `interval`, scaled by sqrt(observations per day). None with fewer than three prices."""
    usable = [price for price in prices if price > 0]
    if len(usable) < 3 or interval.total_seconds() <= 0:
        return None
    returns = [(current / previous).ln() for previous, current in itertools.pairwise(usable)]
    mean = sum(returns, _ZERO) / len(returns)
    variance = sum(((r - mean) ** 2 for r in returns), _ZERO) / (len(returns) - 1)
    per_day = _DAY_S / Decimal(str(interval.total_seconds()))
    return (variance * per_day).sqrt()
