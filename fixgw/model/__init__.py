"""Canonical order model: values, commands, orders of record and the order state machine (sans-I/O)."""
