"""Two-way enum tables between canonical values and a venue's words; unmapped values raise `MappingError`."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Generic, TypeVar

from fixgw.model.decimals import floor_to_increment, round_to_increment
from fixgw.model.enums import Side
from fixgw.model.instruments import Instrument
from fixgw.model.orders import NewOrder
from fixgw.venues.bridge.common.errors import MappingError

C = TypeVar("C")


class EnumTable(Generic[C]):
    def __init__(self, venue: str, name: str, to_venue: Mapping[C, str]) -> None:
        self.venue = venue
        self.name = name
        self._to_venue = dict(to_venue)
        self._from_venue = {v: k for k, v in self._to_venue.items()}
        if len(self._from_venue) != len(self._to_venue):
            raise ValueError(f"{venue} {name} table is not one-to-one")

    def to_venue(self, value: C) -> str:
        try:
            return self._to_venue[value]
        except KeyError:
            raise MappingError(self.venue, self.name, value) from None

    def from_venue(self, value: str) -> C:
        try:
            return self._from_venue[value]
        except KeyError:
            raise MappingError(self.venue, self.name, value) from None


def lookup(venue: str, name: str, table: Mapping[str, C], value: str) -> C:
    """A one-way (many-to-one) venue-to-canonical lookup, e.g. venue order statuses."""
    try:
        return table[value]
    except KeyError:
        raise MappingError(venue, name, value) from None


def order_quantity(venue: str, order: NewOrder, instrument: Instrument) -> Decimal:
    """The order quantity floored to the lot size: never more than asked; zero is not representable."""
    quantity = floor_to_increment(order.order_qty, instrument.lot_size)
    if quantity <= 0:
        raise MappingError(venue, "quantity below lot size", order.order_qty)
    return quantity


def order_price(order: NewOrder, instrument: Instrument) -> Decimal | None:
    """The limit price on the tick, never more aggressive than asked: buys round down, sells up."""
    if order.price is None:
        return None
    rounding = ROUND_FLOOR if order.side is Side.BUY else ROUND_CEILING
    return round_to_increment(order.price, instrument.tick_size, rounding=rounding)
