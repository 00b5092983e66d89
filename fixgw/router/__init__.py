"""Router core: the order book of record, routing rules, id allocation (no I/O, no quickfix)."""
