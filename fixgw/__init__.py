"""fixgw: a FIX order router and prime-brokerage gateway."""

__version__ = "0.1.0"
