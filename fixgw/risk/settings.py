"""The `[risk]` configuration section: limits by scope, venue rules, circuit breakers, slippage alerts.

Which limit applies to an order: every limit configured for something the order belongs to - its account
(`accounts.<a>`), its EMS session (`ems.<s>`), its instrument (`instruments.<id>`) or asset class
(`asset_classes.<c>`) - applies, so the smallest wins; `defaults` apply only where none of those sets the
key. So an account can be allowed more than the defaults, and an instrument can cap everybody.
Percentages are plain decimals ("10" = 10%); write non-integers as strings ("2.5"), never as TOML floats.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from fixgw.model.decimals import Dec
from fixgw.model.enums import AssetClass

LIMIT_KEYS = ("max_order_qty", "max_order_notional", "price_collar_pct", "fat_finger_pct", "max_position_qty",
              "max_concentration_pct")
"""The per-order limits every scope may set."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderLimits(_Section):
    max_order_qty: Dec | None = Field(default=None, gt=0)
    max_order_notional: Dec | None = Field(default=None, gt=0)
    """Quantity x price (limit, else stop, else the reference price) in the instrument's currency."""
    price_collar_pct: Dec | None = Field(default=None, ge=0)
    """A price further than this from the reference (either way) is denied and trips the breaker; 0 = off."""
    fat_finger_pct: Dec | None = Field(default=None, ge=0)
    """A limit price this far through the reference (buy above, sell below) is denied; 0 = off."""
    max_position_qty: Dec | None = Field(default=None, gt=0)
    """Worst-case intraday net position per account and instrument (filled today + open orders + this order)."""
    max_concentration_pct: Dec | None = Field(default=None, gt=0)
    """The account's exposure in one instrument (filled today + open + this order) as % of its credit limit."""


class AccountRisk(OrderLimits):
    credit_limit: Dec | None = Field(default=None, gt=0)
    """Open plus filled notional of the account per UTC day."""
    restricted: list[str] = Field(default_factory=list)
    """Instrument ids (globs) this account may not trade."""
    max_daily_loss: Dec | None = Field(default=None, gt=0)
    """The day's loss (realized + unrealized - fees, since marketdata.day_cutoff) above which the account's kill
    switch is set (open orders cancelled) and an alert fires; once a day."""
    max_drawdown: Dec | None = Field(default=None, gt=0)
    """The same for the fall from the day's high-water mark of that P&L."""


class EmsRisk(OrderLimits):
    max_orders_per_second: int | None = Field(default=None, ge=1)
    """New orders and replaces admitted per EMS session in any one-second sliding window."""
    restricted: list[str] = Field(default_factory=list)


class InstrumentRisk(OrderLimits):
    reference_price: Dec | None = Field(default=None, gt=0)
    """Used when no trade or venue price has been seen yet."""
    restricted: bool = False


class AssetClassRisk(OrderLimits):
    restricted: bool = False


class RiskDefaults(OrderLimits):
    price_collar_pct: Dec | None = Field(default=Decimal(10), ge=0)
    credit_limit: Dec | None = Field(default=None, gt=0)
    max_orders_per_second: int | None = Field(default=None, ge=1)


class VenueRisk(_Section):
    allow_market_orders: bool = True
    ramp_notional_cap: Dec | None = Field(default=None, gt=0)
    """A new venue: each order's notional is capped here until an operator lifts the ramp."""


class BreakerConfig(_Section):
    # No collar trip: one order priced far from the market is that order's problem (the collar denies it), not a
    # market event; trades and venue prices that jump are (`price_jump_pct`).
    price_jump_pct: Dec | None = Field(default=None, gt=0)
    """A trade or venue price this far from the previous reference trips the instrument's breaker."""
    error_burst: int = Field(default=10, ge=1)
    """Unhandled errors / unknown outcomes from one venue within `error_window_seconds` that trip it."""
    error_window_seconds: int = Field(default=10, ge=1, le=3600)
    reject_rate_pct: Dec = Field(default=Decimal(50), gt=0, le=100)
    """Share of a venue's answers to new orders that are rejects, above which the venue's breaker trips."""
    reject_min_orders: int = Field(default=20, ge=1)
    """Answers needed in the window before the reject rate counts."""
    reject_window_seconds: int = Field(default=60, ge=1, le=86400)


class RiskConfig(_Section):
    enabled: bool = True
    defaults: RiskDefaults = RiskDefaults()
    restricted: list[str] = Field(default_factory=list)
    """Instrument ids (globs) nobody may trade."""
    duplicate_window_ms: int = Field(default=0, ge=0, le=3_600_000)
    """Deny an order identical (account, side, instrument, qty, price) to one sent this recently; 0 = off."""
    slippage_alert_bps: Dec | None = Field(default=Decimal(100), gt=0)
    """Alert when a market order fills this much worse than the reference price at routing time."""
    accounts: dict[str, AccountRisk] = Field(default_factory=dict)
    ems: dict[str, EmsRisk] = Field(default_factory=dict)
    instruments: dict[str, InstrumentRisk] = Field(default_factory=dict)
    asset_classes: dict[AssetClass, AssetClassRisk] = Field(default_factory=dict)
    venues: dict[str, VenueRisk] = Field(default_factory=dict)
    breakers: BreakerConfig = BreakerConfig()
    max_unanswered_s: float = Field(default=30.0, gt=0, le=3600)
    """An order the EMS has heard nothing of this long gets its best known state (39=A, Text) and an alert."""
    unknown_order_grace_s: float = Field(default=60.0, ge=0, le=86400)
    """An acknowledged order its broker says it does not know (lost book) is closed this long after the alert."""
