"""Pre-trade risk: limit checks, kill switch, circuit breakers, slippage alerts, and their operator controls.

Modules: `settings` (the `[risk]` config section), `limits` (which configured limit applies to an order),
`exposure` (open/filled notional, positions, last prices), `switches` (kill switches, breakers, ramps and
their journal rows), `checks` (the check chain and the router observer), `control` (journal polling, reload).
This file imports nothing: `fixgw.config` imports `fixgw.risk.settings`.
"""
