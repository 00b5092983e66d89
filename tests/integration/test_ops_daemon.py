"""`fixgw run` as systemd runs it, in a subprocess with a fake NOTIFY_SOCKET: READY/STATUS/WATCHDOG,
readiness that flips only when the broker logs on, SIGHUP reload (applied when valid, refused when not),
and SIGTERM: sessions log out and the process exits 0 within the configured stop time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gateway_stack import WAIT, new_order, report, status
from waiting import wait_until

from fixgw.cli import main
from fixgw.engine.quickfix_support import free_port
from fixgw.sim.fix_broker import FixBrokerSimConfig, FixBrokerSimulator
from fixgw.sim.fix_client import FixClient

ROOT = Path(__file__).resolve().parents[2]
TOKEN_ENV = "FIXGW_TEST_ADMIN_TOKEN"
TOKEN = "daemon-test-token"
STOP_TIMEOUT_S = 10


class NotifyListener:
    """A fake systemd: a datagram socket collecting sd_notify messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[dict[str, str]] = []
        self._condition = threading.Condition()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._condition:
                self.messages.append(fields)
                self._condition.notify_all()

    def wait_for(self, predicate: Callable[[dict[str, str]], bool], timeout: float = 20.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no such notify message; got {self.messages[-5:]}"
                self._condition.wait(remaining)

    def close(self) -> None:
        self._running = False
        self._thread.join(2)
        self._sock.close()


def write_config(path: Path, tmp: Path, ports: dict[str, int], default_route: str | None = None) -> None:
    routing_default = f'\n[routing]\ndefault = "{default_route}"\n' if default_route else ""
    path.write_text(f"""
name = "daemon-test"
state_dir = "{tmp / 'gw'}"

[log]
level = "INFO"
format = "json"

[acceptor]
port = {ports['acceptor']}
quickfix = {{ HeartBtInt = 30 }}

[ems.ems-a]
begin_string = "FIX.4.4"
target_comp_id = "EMS-A"

[brokers.equities]
begin_string = "FIX.4.2"
target_comp_id = "BROKER"
port = {ports['broker']}
dialect = "fix42-broker"
quickfix = {{ ReconnectInterval = 1 }}

[admin]
enabled = true
port = {ports['admin']}
token = "env:{TOKEN_ENV}"
required_sessions = ["equities"]
stop_timeout_s = {STOP_TIMEOUT_S}

[[routing.rules]]
name = "aapl-only"
match = {{ symbol = "AAPL" }}
destination = "equities"
{routing_default}""", encoding="utf-8")


class Daemon:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ports = {"acceptor": free_port(), "broker": free_port(), "admin": free_port()}
        self.config = tmp / "fixgw.toml"
        write_config(self.config, tmp, self.ports)
        # AF_UNIX paths are short (108 bytes): keep the socket near the root of the temp folder.
        self.notify = NotifyListener(tmp / "notify.sock")
        self.process: subprocess.Popen[bytes] | None = None
        self.admin = httpx.Client(base_url=f"http://127.0.0.1:{self.ports['admin']}",
                                  headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": str(self.notify.path),
               "WATCHDOG_USEC": "1000000", TOKEN_ENV: TOKEN}
        with (self.tmp / "daemon.log").open("wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "fixgw", "run", "--config", str(self.config)],
                                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        self.notify.wait_for(lambda m: m.get("READY") == "1")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def readyz(self) -> httpx.Response:
        return self.admin.get("/readyz")

    def wait(self, condition: Callable[[], bool], timeout: float = WAIT, what: str = "") -> bool:
        """True once `condition` holds; AssertionError naming it after `timeout` seconds (tests/waiting.py)."""
        return bool(wait_until(condition, timeout, what))

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.admin.close()
        self.notify.close()


@contextmanager
def daemon_and_broker(tmp: Path, *, broker_first: bool) -> Iterator[tuple[Daemon, FixBrokerSimulator]]:
    daemon = Daemon(tmp)
    broker = FixBrokerSimulator(FixBrokerSimConfig(
        port=daemon.ports["broker"], sender_comp_id="BROKER", target_comp_ids=("FIXGW",),
        begin_strings=("FIX.4.2",), store_dir=tmp / "broker-store", log_dir=tmp / "broker-log", fill_slices=1))
    try:
        if broker_first:
            broker.start()
        daemon.start()
        yield daemon, broker
    finally:
        daemon.close()
        broker.stop()


@contextmanager
def ems_client(tmp: Path, daemon: Daemon) -> Iterator[FixClient]:
    client = FixClient(port=daemon.ports["acceptor"], begin_string="FIX.4.4", sender_comp_id="EMS-A",
                       target_comp_id="FIXGW", store_dir=tmp / "ems-store")
    client.start()
    try:
        assert client.wait_logged_on(WAIT)
        yield client
    finally:
        client.stop()


def test_readiness_flips_on_logon_and_sighup_reloads_only_valid_changes(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)  # for `fixgw ops health`, which reads the same config
    with daemon_and_broker(tmp_path, broker_first=False) as (daemon, broker):
        not_ready = daemon.readyz()
        assert not_ready.status_code == 503
        assert not_ready.json()["sessions_down"] == ["equities"] and not_ready.json()["journal_open"]
        assert main(["ops", "health", "--config", str(daemon.config)]) == 1
        broker.start()
        assert daemon.wait(lambda: daemon.readyz().status_code == 200), "never became ready"
        assert main(["ops", "health", "--config", str(daemon.config)]) == 0
        daemon.notify.wait_for(lambda m: m.get("STATUS", "").startswith("ready: 2/2 sessions up")
                               or m.get("STATUS", "").startswith("ready: 1/2 sessions up"))
        daemon.notify.wait_for(lambda m: m.get("WATCHDOG") == "1")
        with ems_client(tmp_path, daemon) as ems:
            ems.send(new_order("S1", symbol="SPY", price="500.00"))
            assert "no routing rule" in (report(ems, "S1", status("8")).get(58) or "")
            # A valid change: a default route. SPY orders now reach the broker.
            write_config(daemon.config, tmp_path, daemon.ports, default_route="equities")
            daemon.signal(signal.SIGHUP)
            daemon.notify.wait_for(lambda m: m.get("RELOADING") == "1")
            daemon.notify.wait_for(lambda m: "reload applied (routing)" in m.get("STATUS", ""))
            ems.send(new_order("S2", symbol="SPY", price="500.00"))
            report(ems, "S2", status("0"))
            # An invalid change is refused whole: the default route stays in force.
            write_config(daemon.config, tmp_path, daemon.ports, default_route="nowhere")
            daemon.signal(signal.SIGHUP)
            refused = daemon.notify.wait_for(lambda m: "reload refused" in m.get("STATUS", ""))
            assert "nowhere" in refused["STATUS"]
            ems.send(new_order("S3", symbol="SPY", price="500.00"))
            report(ems, "S3", status("0"))
        daemon.signal(signal.SIGTERM)
        assert daemon.process is not None and daemon.process.wait(STOP_TIMEOUT_S + 5) == 0


def test_sigterm_logs_sessions_out_and_exits_zero_in_time(tmp_path: Path) -> None:
    with daemon_and_broker(tmp_path, broker_first=True) as (daemon, broker):
        assert daemon.wait(lambda: daemon.readyz().status_code == 200), "never became ready"
        with ems_client(tmp_path, daemon) as ems:
            ems.send(new_order("T1", qty="100"))
            report(ems, "T1", status("2"))
            daemon.signal(signal.SIGTERM)
            assert daemon.process is not None
            assert daemon.process.wait(STOP_TIMEOUT_S) == 0  # TimeoutExpired fails the test
            assert ems.wait_logged_off(WAIT)
        daemon.notify.wait_for(lambda m: m.get("STOPPING") == "1")
        assert broker.logged_on_sessions() == []
        # The gateway said goodbye (35=5 from FIXGW) rather than dropping the connection.
        logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "broker-log").glob("*messages*"))
        assert "\x0135=5\x0149=FIXGW\x01" in logs or any(
            "35=5\x01" in line and "49=FIXGW\x01" in line for line in logs.splitlines())
        daemon_log = (tmp_path / "daemon.log").read_text()
        assert '"gateway.stopped"' in daemon_log and '"gateway.exit"' in daemon_log
