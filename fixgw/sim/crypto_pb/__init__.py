"""Crypto prime-broker simulator: Coinbase Prime REST v1 + WebSocket, FalconX-style and Binance-spot-style
endpoints in one HTTP server, with rate limits, fill simulation and a fault-injection control API.

The names below load on first use, so that mounting `fixgw sim crypto-pb` costs the CLI no server imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fixgw.sim.crypto_pb.faults import FaultKind
    from fixgw.sim.crypto_pb.server import CryptoPbSimulator
    from fixgw.sim.crypto_pb.settings import SimCredentials, SimSettings

__all__ = ["CryptoPbSimulator", "FaultKind", "SimCredentials", "SimSettings"]

_HOMES = {"CryptoPbSimulator": "server", "FaultKind": "faults", "SimCredentials": "settings", "SimSettings": "settings"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
