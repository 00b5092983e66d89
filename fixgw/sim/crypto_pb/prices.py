"""The simulator's price process: the reference prices the book fills at and the market-data endpoints publish.

The process is a random walk: every `step_s` each unfrozen asset moves by a normal draw of `vol_bps` basis
points (seeded, so a run is repeatable). The control API (`POST /_sim/market`) sets vol_bps/step_s, jumps an
asset by a percentage at once, freezes or thaws it, or stops publishing (`silent`: the feeds go quiet while
the book still fills, which is what a dead market-data connection looks like).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

_BPS = Decimal(10_000)


@dataclass
class PriceProcess:
    vol_bps: Decimal = Decimal(0)
    """Standard deviation of one step's move, in basis points; 0 = prices move only when told."""
    step_s: float = 0.5
    seed: int = 17
    frozen: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    """Assets whose market data is not published (the feed of a dead source)."""
    _rng: random.Random = field(init=False)
    _last_step: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def advance(self, prices: dict[str, Decimal], now: float) -> bool:
        """Step the walk if `step_s` has passed; True when prices moved."""
        if not self.vol_bps or now - self._last_step < self.step_s:
            return False
        self._last_step = now
        for asset, price in prices.items():
            if asset in self.frozen:
                continue
            draw = Decimal(repr(round(self._rng.gauss(0.0, 1.0), 6)))   # a float draw, made exact once
            prices[asset] = max(price * (1 + draw * self.vol_bps / _BPS), price / 2).quantize(price)
        return True
