"""A minimal TLS FIX acceptor standing in for a broker that only speaks TLS (the broker simulator is plain TCP)."""

from __future__ import annotations

import threading
from pathlib import Path

import quickfix as qf

from fixgw.engine.quickfix_support import QuietApplication, build_session_settings, guard_callback
from fixgw.security.tls import VERIFY_REQUIRE


class _CountingApplication(QuietApplication):
    def __init__(self, peer: TlsBrokerPeer) -> None:
        super().__init__()
        self._peer = peer

    @guard_callback
    def onLogon(self, session_id: qf.SessionID) -> None:
        with self._peer.condition:
            self._peer.logons += 1
            self._peer.condition.notify_all()


class TlsBrokerPeer:
    """FIX.4.4 BROKER <- FIXGW over TLS; requires a client certificate from `ca` (mutual TLS)."""

    def __init__(self, port: int, certificate: Path, private_key: Path, ca: Path) -> None:
        self.condition = threading.Condition()
        self.logons = 0
        settings = build_session_settings(
            {"ConnectionType": "acceptor", "SocketAcceptPort": str(port), "StartTime": "00:00:00",
             "EndTime": "00:00:00", "HeartBtInt": "30", "UseDataDictionary": "N",
             "ServerCertificateFile": str(certificate), "ServerCertificateKeyFile": str(private_key),
             "CertificationAuthoritiesFile": str(ca), "CertificateVerifyLevel": VERIFY_REQUIRE},
            [{"BeginString": "FIX.4.4", "SenderCompID": "BROKER", "TargetCompID": "FIXGW"}])
        self._application = _CountingApplication(self)
        self._acceptor: qf.SSLSocketAcceptor | None = qf.SSLSocketAcceptor(
            self._application, qf.MemoryStoreFactory(), settings)

    def __enter__(self) -> TlsBrokerPeer:
        assert self._acceptor is not None
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._acceptor is not None:
            self._acceptor.stop(True)
            self._acceptor = None

    def wait_logons(self, count: int, timeout: float) -> bool:
        with self.condition:
            return self.condition.wait_for(lambda: self.logons >= count, timeout)
