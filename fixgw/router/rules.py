"""Routing rules as configured (`[routing]`): the router owns their type, `fixgw.config` only embeds it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fixgw.model.enums import AssetClass, OrdType


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouteMatch(_Section):
    ems_session: list[str] | None = None
    account: list[str] | None = None
    symbol: str | None = None
    """A glob over the canonical instrument id, e.g. "*/USD" or "AAPL"."""
    instrument: list[str] | None = None
    asset_class: list[AssetClass] | None = None
    ord_type: list[OrdType] | None = None


class RouteRule(_Section):
    name: str
    match: RouteMatch = RouteMatch()
    destination: str
    backup: str | None = None
    """Used for NEW orders when the destination is not logged on; live orders stay where they are."""


class RoutingConfig(_Section):
    rules: list[RouteRule] = Field(default_factory=list)
    default: str | None = None
    """Where an order goes when no rule matches; without it such orders are denied."""

    def destinations(self) -> set[str]:
        names = {rule.destination for rule in self.rules} | {r.backup for r in self.rules if r.backup}
        if self.default:
            names.add(self.default)
        return names
