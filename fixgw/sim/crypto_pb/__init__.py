"""Crypto prime-broker simulator: Coinbase Prime REST v1 + WebSocket, FalconX-style and Binance-spot-style
endpoints in one HTTP server, with rate limits, fill simulation and a fault-injection control API."""

from fixgw.sim.crypto_pb.faults import FaultKind
from fixgw.sim.crypto_pb.server import CryptoPbSimulator
from fixgw.sim.crypto_pb.settings import SimCredentials, SimSettings

__all__ = ["CryptoPbSimulator", "FaultKind", "SimCredentials", "SimSettings"]
