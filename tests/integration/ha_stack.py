"""Two gateway processes of one HA pair on the local PostgreSQL, a broker simulator and an EMS client that knows
both nodes (SocketConnectHost1/SocketConnectPort1): the takeover tests and scripts/bench_ha_takeover use it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pgschema import postgres_schema
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from waiting import wait_until

from fixgw.engine.quickfix_support import free_port
from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator
from fixgw.sim.fix_client import FixClient
from fixgw.store.lease import LeaseState, read_state
from fixgw.store.records import JournalError

POSTGRES_URL_ENV = "FIXGW_TEST_DATABASE_URL"
LEASE_S = 2.0
ADMIN_TOKEN = "ha-test-admin-token"


def ha_schema(base: str) -> AbstractContextManager[str]:
    """A journal URL on a schema of its own for one HA pair, dropped afterwards."""
    return postgres_schema(base, prefix="test_ha_")




@dataclass
class Node:
    name: str
    config: Path
    log: Path
    port: int
    admin_port: int
    dropcopy_port: int
    process: subprocess.Popen[bytes] | None = None
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "FIXGW_TEST_ADMIN_TOKEN": ADMIN_TOKEN}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "fixgw", "run", "--config", str(self.config)],
                                            stdout=out, stderr=subprocess.STDOUT, env=env)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        self.exits.append(code)
        return code

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def events(self, name: str) -> list[dict[str, object]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if f'"{name}"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == name:
                found.append(entry)
        return found

    def admin(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.admin_port}{path}", timeout=10,
                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class HaPair:
    """Nodes a and b (same journal, same broker session, own acceptor ports), broker simulator, EMS client."""

    def __init__(self, root: Path, journal_url: str, *, debug_a: bool = False) -> None:
        self.root = root
        self.journal_url = journal_url
        self.broker_port = free_port()
        self.nodes = {name: self._node(name, debug=debug_a and name == "a") for name in ("a", "b")}
        self.broker = FixBrokerSimulator(FixBrokerSimConfig(
            port=self.broker_port, sender_comp_id="BROKER", target_comp_ids=("FIXGW",), begin_strings=("FIX.4.2",),
            store_dir=root / "broker-store", fill_slices=2, fill_delay_ms=20))
        a, b = self.nodes["a"], self.nodes["b"]
        # The EMS's FIX engine knows both nodes: it tries the next address at each reconnect.
        self.ems = FixClient(port=a.port, begin_string="FIX.4.4", sender_comp_id="EMS-A", target_comp_id="FIXGW",
                             store_dir=root / "ems-store", heartbeat_interval=1,
                             extra_settings={"SocketConnectHost1": "127.0.0.1", "SocketConnectPort1": str(b.port),
                                             "ReconnectInterval": "1", "LogonTimeout": "2"})
        # A compliance client of the drop copy, which knows both nodes too.
        self.compliance = FixClient(port=a.dropcopy_port, begin_string="FIX.4.4", sender_comp_id="COMPLIANCE",
                                    target_comp_id="FIXGW", store_dir=root / "dc-store", heartbeat_interval=1,
                                    extra_settings={"SocketConnectHost1": "127.0.0.1",
                                                    "SocketConnectPort1": str(b.dropcopy_port),
                                                    "ReconnectInterval": "1", "LogonTimeout": "2"})
        self._engine = create_engine(journal_url, poolclass=NullPool)

    def _node(self, name: str, *, debug: bool) -> Node:
        port, admin_port, dropcopy_port = free_port(), free_port(), free_port()
        config = self.root / f"node-{name}.toml"
        config.write_text(f"""
name = "ha-{name}"
state_dir = "{self.root / f'state-{name}'}"
[log]
level = "{'DEBUG' if debug else 'INFO'}"
format = "json"
[journal]
url = "{self.journal_url}"
[ha]
enabled = true
node_id = "{name}"
lease_s = {LEASE_S}
renew_every_s = 0.4
poll_every_s = 0.1
[admin]
enabled = true
port = {admin_port}
token = "env:FIXGW_TEST_ADMIN_TOKEN"
[acceptor]
port = {port}
[ems.ems-a]
target_comp_id = "EMS-A"
[brokers.equities]
begin_string = "FIX.4.2"
target_comp_id = "BROKER"
port = {self.broker_port}
dialect = "fix42-broker"
quickfix = {{ ReconnectInterval = 1, HeartBtInt = 1 }}
[routing]
default = "equities"
[dropcopy.compliance]
target_comp_id = "COMPLIANCE"
port = {dropcopy_port}
""")
        return Node(name, config, self.root / f"node-{name}.log", port, admin_port, dropcopy_port)

    def lease(self) -> LeaseState:
        return read_state(self._engine, "fixgw")

    def active(self) -> str | None:
        try:
            state = self.lease()
        except JournalError:  # not migrated yet
            return None
        return state.holder if state.held else None

    def start(self, timeout: float = 40.0) -> None:
        """Node a first (it becomes active), then b (standby); broker; EMS logged on to a."""
        self.broker.start()
        self.nodes["a"].start()
        assert wait_until(lambda: self.active() == "a", timeout), self.nodes["a"].tail()
        self.nodes["b"].start()
        assert wait_until(lambda: bool(self.nodes["b"].events("ha.standby")), timeout), (
            self.nodes["a"].tail() + self.nodes["b"].tail())
        self.ems.start()
        self.compliance.start()
        assert self.ems.wait_logged_on(timeout), self.nodes["a"].tail()
        assert self.compliance.wait_logged_on(timeout), self.nodes["a"].tail()
        assert self.broker.wait_logged_on(1, timeout)

    def stop(self) -> None:
        self.ems.stop()
        self.compliance.stop()
        for node in self.nodes.values():
            if node.alive():
                node.signal(signal.SIGCONT)
                node.signal(signal.SIGTERM)
        for node in self.nodes.values():
            if node.process is not None and node.process.poll() is None:
                try:
                    node.wait(30)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait(5)
        self.broker.stop()
        self._engine.dispose()
