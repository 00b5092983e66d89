"""The `[margin]` configuration section. Write decimals as strings ("1.5"), never as TOML floats. Imports only
the model (config.py imports this module)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fixgw.model.decimals import Dec
from fixgw.model.margin import MarginMode, Thresholds


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarginVenueConfig(_Section):
    mode: Literal["cross", "isolated"] = "cross"
    """cross: one pool for everything at the PB; isolated: each position with only the collateral assigned to it."""
    currency: str = "USD"
    """The account currency every figure is stated in (Binance: USDT)."""
    entity_id: str = ""
    """Coinbase Prime: the entity whose margin information is read (`GET /v1/entities/{entity_id}/margin`)."""
    report_to: str = ""
    """An EMS session that hears of orders the venue placed itself in our account (its liquidations), booked under
    `account`; empty: they are not relayed (Coinbase Prime venues only)."""
    account: str = ""
    """The account the venue's own orders are booked under; a FIX broker: the Account(1) positions are asked for."""
    asset_class: str = "crypto"
    """The class (haircuts.toml [class.*]) of assets the haircut table does not list: a FIX equities broker's
    symbols are `equity`."""
    warn: Dec = Decimal("1.5")
    reduce_only: Dec = Decimal("1.25")
    critical: Dec = Decimal("1.1")

    @model_validator(mode="after")
    def _ordered(self) -> MarginVenueConfig:
        if not self.warn >= self.reduce_only >= self.critical > 0:
            raise ValueError("thresholds must satisfy warn >= reduce_only >= critical > 0")
        return self

    @property
    def margin_mode(self) -> MarginMode:
        return MarginMode(self.mode)

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.warn, self.reduce_only, self.critical)


class MarginConfig(_Section):
    enabled: bool = False
    snapshot_s: float = Field(default=60.0, gt=0, le=86_400)
    """How often every venue's account data is pulled, valued and journaled."""
    haircuts_file: Path | None = None
    """Haircuts and requirement rates; default <specs_dir>/margin/haircuts.toml."""
    cross_venue_netting: bool = False
    """May collateral at one PB cover a deficit at another in the desk total?"""
    drift_pause_pct: Dec = Field(default=Decimal("0.5"), ge=0)
    """Our figure computed the PB's way vs the PB's own, in %: beyond it trading at that venue is paused."""
    vol_samples: int = Field(default=30, ge=3, le=10_000)
    """Reference prices kept per asset (one per snapshot) for the realized volatility of scaled haircuts."""
    venues: dict[str, MarginVenueConfig] = Field(default_factory=dict)
    """Which REST venues are margin accounts (section key = the venue's name under [venues])."""
