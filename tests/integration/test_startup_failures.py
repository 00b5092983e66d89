"""Start-up in real processes (issue 24): one gateway per state dir, and every start failure names what failed
in one line (port, path) and exits 1 - never a SWIG proxy, a bare errno, a traceback or a crash."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fixgw.engine.quickfix_support import free_port
from fixgw.ops.statelock import LOCK_FILE, StateDirLock

ROOT = Path(__file__).resolve().parents[2]
START_S = 60.0
CREDENTIALS = {"FIXGW_TEST_SL_ACCESS_KEY": "ak", "FIXGW_TEST_SL_PASSPHRASE": "pp", "FIXGW_TEST_SL_SIGNING_KEY": "sk"}


def write_config(tmp: Path, state_dir: Path, acceptor_port: int) -> Path:
    path = tmp / "gw.toml"
    path.write_text(f"""
name = "lock-test"
state_dir = "{state_dir}"
[log]
format = "json"
[acceptor]
port = {acceptor_port}
[ems.ems-a]
target_comp_id = "EMS-A"
[brokers.equities]
begin_string = "FIX.4.2"
target_comp_id = "BROKER"
port = {free_port()}
dialect = "fix42-broker"
quickfix = {{ ReconnectInterval = 30 }}
[venues.crypto]
kind = "coinbase_prime"
base_url = "http://127.0.0.1:{free_port()}"
portfolio_id = "p"
access_key = "env:FIXGW_TEST_SL_ACCESS_KEY"
passphrase = "env:FIXGW_TEST_SL_PASSPHRASE"
signing_key = "env:FIXGW_TEST_SL_SIGNING_KEY"
""", encoding="utf-8")
    return path


def fixgw(*args: str) -> list[str]:
    return [sys.executable, "-m", "fixgw", *args]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **CREDENTIALS}


def run_to_exit(command: list[str], cwd: Path) -> tuple[int, list[dict[str, Any]], str]:
    """Run until it exits: (exit code, its JSON log lines, everything it printed)."""
    done = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=START_S, cwd=cwd)
    output = done.stdout + done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return done.returncode, events, output


def assert_one_line_failure(code: int, events: list[dict[str, Any]], output: str) -> str:
    """Exit 1 with exactly one start-failure line, no traceback, no SWIG proxy: returns its error text."""
    assert code == 1, output  # not -11 (SIGSEGV), not a hang
    failures = [event for event in events if event["event"] == "gateway.start_failed"]
    assert len(failures) == 1, output
    assert "Traceback" not in output and "proxy of" not in output and "Swig" not in output, output
    return str(failures[0]["error"])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running_gateway(config: Path, port: int, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    with (cwd / "first.log").open("wb") as log:
        process = subprocess.Popen(fixgw("run", "--config", str(config)), env=environment(), stdout=log,
                                   stderr=subprocess.STDOUT, cwd=cwd)
    try:
        deadline = time.monotonic() + START_S
        while not listening(port):
            assert process.poll() is None, (cwd / "first.log").read_text()
            assert time.monotonic() < deadline, "the first gateway never listened"
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def snapshot(state_dir: Path) -> dict[str, bytes]:
    """The files a second process must not touch: QuickFIX's stores (sequence numbers) and the lock."""
    files = [state_dir / LOCK_FILE, *sorted((state_dir / "quickfix").rglob("*"))]
    return {str(path): path.read_bytes() for path in files if path.is_file()}


def test_a_second_gateway_on_the_same_state_dir_exits_1_and_touches_nothing(tmp_path: Path) -> None:
    state, port = tmp_path / "state", free_port()
    config = write_config(tmp_path, state, port)
    with running_gateway(config, port, tmp_path) as first:
        before = snapshot(state)
        assert (state / LOCK_FILE).read_text().strip() == str(first.pid)
        for command in (fixgw("run", "--config", str(config)),
                        fixgw("bridge", "--config", str(config), "--venue", "crypto")):
            error = assert_one_line_failure(*run_to_exit(command, tmp_path))
            assert error == f"state dir {state} is in use by pid {first.pid}"
        assert snapshot(state) == before
        assert first.poll() is None and listening(port)  # the first one serves on
        first.send_signal(signal.SIGTERM)
        assert first.wait(30) == 0
    with StateDirLock(state) as lock:  # released with the process
        assert lock.held


def test_acceptor_port_in_use_names_host_and_port(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        config = write_config(tmp_path, tmp_path / "state", port)
        error = assert_one_line_failure(*run_to_exit(fixgw("run", "--config", str(config)), tmp_path))
    assert error.startswith(f"EMS acceptor 127.0.0.1:{port}: ") and "Address already in use" in error


def test_a_state_dir_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a folder")
    state = tmp_path / "plain-file" / "state"
    config = write_config(tmp_path, state, free_port())
    error = assert_one_line_failure(*run_to_exit(fixgw("run", "--config", str(config)), tmp_path))
    assert error == f"state dir {state}: cannot create it (Not a directory)"


@contextmanager
def immutable(folder: Path) -> Iterator[None]:
    """Root ignores mode bits, not the immutable flag."""
    folder.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this filesystem")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_an_unwritable_folder_inside_the_state_dir_is_named(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path, state, free_port())
    with immutable(state / "quickfix"):  # the lock is taken; QuickFIX's store folders cannot be made
        error = assert_one_line_failure(*run_to_exit(fixgw("run", "--config", str(config)), tmp_path))
    assert error.startswith(f"state dir {state}: Operation not permitted: {state / 'quickfix'}/"), error
    with immutable(state):  # the lock file and QuickFIX's folders exist now; the journal cannot be created
        error = assert_one_line_failure(*run_to_exit(fixgw("run", "--config", str(config)), tmp_path))
    assert error == f"journal sqlite:///{state / 'journal.db'}: unable to open database file"
    fresh = tmp_path / "fresh"
    config = write_config(tmp_path, fresh, free_port())
    with immutable(fresh):  # nothing can be created in it, not even the lock
        error = assert_one_line_failure(*run_to_exit(fixgw("run", "--config", str(config)), tmp_path))
    assert error == f"state dir {fresh}: cannot open {fresh / LOCK_FILE} (Operation not permitted)"
