"""Market data: reference prices that do not come from our own fills, and P&L from fills and those prices.

Pure layers (no I/O): `quotes` (a source's canonical quote and its validation), `reference` (the composite
reference per instrument: median of fresh sources, divergence, states), `pnl` (average-cost P&L, day P&L,
high-water mark and drawdown), `settings` (the `[marketdata]` config section). Sources doing I/O (HTTP JSON
oracle, venue feeds) live in `sources` and push quotes into a `ReferenceBook`; the risk engine reads it.
"""
