"""Collateral and margin across prime brokers (README "Margin and collateral"): account data pulled on a schedule,
valued by the pure engine in fixgw.model.margin, journaled, compared with what each PB reports, and its states
(warn, reduce_only, critical) fed to the risk checks and the alert sinks."""
