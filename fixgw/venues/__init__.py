"""Venues: the counterparties orders are routed to (FIX brokers and REST prime brokers)."""
