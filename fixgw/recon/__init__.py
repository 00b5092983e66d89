"""Reconciliation of our record against each broker's: end of day and intraday drift.

Modules: `records` (trades, breaks, tolerances), `matching` (the pure matching engine), `settlement` (T+n on
holiday calendars), `sources` (the broker-source interface), `statement` (CSV/XML statements with column
mappings), `journal_sources` (our fills; a FIX broker's ExecutionReport history), `rest_source` (bridge venues'
fills and balances), `run` (one run: match, persist, report, alert), `report` (CSV/JSON/summary), `drift`
(intraday position / margin drift and the kill switch), `service` (the scheduler inside the daemon),
`settings` (the `[recon]` config section). This file imports nothing: `fixgw.config` imports `recon.settings`.
"""
