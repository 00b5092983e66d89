"""Coinbase Prime REST v1 bridge (orders, fills, balances, products; optional WebSocket orders feed)."""
