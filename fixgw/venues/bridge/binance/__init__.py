"""Binance spot bridge: signed form/query requests, integer order ids, trades by order."""
