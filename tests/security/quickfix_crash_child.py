"""Child process for test_quickfix_crash.py: the gateway's plain-TCP EMS acceptor (fixgw.engine.security) with
one session; prints "READY <port>", serves until stdin closes, then stops and prints "STOPPED"."""

from __future__ import annotations

import sys

from fixgw.engine.qflog import StructlogLogFactory
from fixgw.engine.quickfix_support import QuietApplication, build_session_settings, free_port
from fixgw.engine.security import new_acceptor
from fixgw.logs import configure_logging


def main() -> int:
    configure_logging("INFO", "json", sys.stderr)  # stdout carries READY/STOPPED only
    port = free_port()
    settings = build_session_settings(
        {"ConnectionType": "acceptor", "SocketAcceptPort": str(port), "SocketAcceptHost": "127.0.0.1",
         "StartTime": "00:00:00", "EndTime": "00:00:00", "HeartBtInt": "30", "UseDataDictionary": "N",
         "FileStorePath": sys.argv[1]},
        [{"BeginString": "FIX.4.4", "SenderCompID": "FIXGW", "TargetCompID": "EMS-F"}])
    acceptor = new_acceptor(QuietApplication(), settings, StructlogLogFactory("acceptor", {}), tls=False)
    acceptor.start()
    print(f"READY {port}", flush=True)
    sys.stdin.read()
    acceptor.stop(True)
    print("STOPPED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
