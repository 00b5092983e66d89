"""QuickFIX's own C++ `executor` example as an independent FIX peer for tests.

Debian's libquickfix-doc ships it prebuilt (gzipped, linked against libquickfix17). It is a plain
SocketAcceptor started as `executor SETTINGS_FILE [SSL|SSL-ST]`, reading a standard QuickFIX settings
file, storing sequence numbers in a FileStore and logging to stdout (ScreenLog). It fills every limit
NewOrderSingle (40=2) in full at its limit price with a single ExecutionReport (39=2) and rejects other
order types; OrderIDs and ExecIDs restart at 1 in every run. QuickFIX 1.15 has no NonStopSession, so
sessions run 00:00:00-00:00:00 UTC (reset at midnight).
"""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fixgw.engine.quickfix_support import data_dictionary_settings

EXECUTOR_GZ = Path("/usr/share/doc/libquickfix-doc/examples/executor/C++/.libs/executor.gz")
"""The real ELF binary; the `executor.gz` beside it is only libtool's wrapper script."""


@dataclass(frozen=True)
class ExecutorProcess:
    """A running executor: its port, settings file and stdout log (QuickFIX ScreenLog)."""

    process: subprocess.Popen[bytes]
    port: int
    settings_path: Path
    log_path: Path
    sender_comp_id: str


def locate_executor(dest_dir: Path, source: Path = EXECUTOR_GZ) -> Path | None:
    """Unpack the prebuilt executor into `dest_dir` and return its path.

    None when libquickfix-doc is not installed or the binary cannot run here (e.g. libquickfix17 missing):
    run without arguments it prints its usage and exits 0, which proves the dynamic linker is happy.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    if not source.is_file() and source == EXECUTOR_GZ:
        source = _unpack_debian_packages(dest_dir) or source
    if not source.is_file():
        return None
    binary = dest_dir / "executor"
    partial = dest_dir / "executor.partial"
    with gzip.open(source, "rb") as packed, partial.open("wb") as unpacked:
        shutil.copyfileobj(packed, unpacked)
    partial.chmod(0o755)
    os.replace(partial, binary)  # atomic: a concurrent caller never runs a half-written file
    try:
        probe = subprocess.run([str(binary)], capture_output=True, timeout=10, check=False, env=executor_env(binary))
    except (OSError, subprocess.TimeoutExpired):
        return None
    return binary if probe.returncode == 0 else None


def _unpack_debian_packages(dest_dir: Path) -> Path | None:
    """Without libquickfix-doc installed: download it and libquickfix17 with apt and unpack them locally.

    Needs no root (apt-get download + dpkg-deb -x) but needs apt's package lists; None when that fails.
    """
    packages = dest_dir / "debs"
    root = dest_dir / "root"
    packed = root / str(EXECUTOR_GZ).lstrip("/")
    if packed.is_file():
        return packed
    packages.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["apt-get", "download", "libquickfix-doc", "libquickfix17"], cwd=packages,
                       capture_output=True, timeout=120, check=True)
        for deb in packages.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    libs = next((path.parent for path in root.rglob("libquickfix.so*")), None)
    if libs is not None:
        (dest_dir / "lib").unlink(missing_ok=True)
        (dest_dir / "lib").symlink_to(libs)
    return packed if packed.is_file() else None


def executor_env(binary: Path) -> dict[str, str]:
    """The environment to run `binary` in: a locally unpacked libquickfix beside it goes on the library path."""
    env = dict(os.environ)
    local_libs = binary.parent / "lib"
    if local_libs.is_dir():
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(local_libs), env.get("LD_LIBRARY_PATH")]))
    return env


def executor_settings_text(
    *,
    port: int,
    store_dir: Path,
    sender_comp_id: str,
    target_comp_ids: Sequence[str],
    begin_strings: Sequence[str],
    validate: bool = True,
    extra_settings: Mapping[str, str] | None = None,
) -> str:
    """The executor's settings file: one [SESSION] per (begin string, target CompID)."""
    default = {
        "ConnectionType": "acceptor",
        "SocketAcceptPort": str(port),
        "SocketReuseAddress": "Y",
        "FileStorePath": str(store_dir),
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "HeartBtInt": "30",
        "UseDataDictionary": "Y" if validate else "N",
        **(extra_settings or {}),
    }
    lines = ["[DEFAULT]", *(f"{key}={value}" for key, value in default.items())]
    for begin_string in begin_strings:
        dictionaries = data_dictionary_settings(begin_string) if validate else {}
        for target in target_comp_ids:
            session = {"BeginString": begin_string, "SenderCompID": sender_comp_id, "TargetCompID": target}
            session.update(dictionaries)
            lines += ["", "[SESSION]", *(f"{key}={value}" for key, value in session.items())]
    return "\n".join(lines) + "\n"


@contextmanager
def run_executor(
    *,
    port: int,
    work_dir: Path,
    target_comp_ids: Sequence[str],
    sender_comp_id: str = "EXECUTOR",
    begin_strings: Sequence[str] = ("FIX.4.2", "FIX.4.4"),
    binary: Path | None = None,
    validate: bool = True,
    startup_timeout: float = 10.0,
) -> Iterator[ExecutorProcess]:
    """Write the settings, start the executor, yield once its port accepts, then stop it.

    Raises FileNotFoundError if no binary is given and none can be had (see locate_executor), and
    RuntimeError (with its output) if it exits or does not listen within `startup_timeout` seconds.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    binary = binary or locate_executor(work_dir)
    if binary is None:
        raise FileNotFoundError(f"QuickFIX executor not available (install libquickfix-doc: {EXECUTOR_GZ})")
    settings_path = work_dir / "executor.cfg"
    settings_path.write_text(
        executor_settings_text(
            port=port,
            store_dir=work_dir / "store",
            sender_comp_id=sender_comp_id,
            target_comp_ids=target_comp_ids,
            begin_strings=begin_strings,
            validate=validate,
        )
    )
    log_path = work_dir / "executor.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(binary), str(settings_path)], stdout=log_file, stderr=subprocess.STDOUT, cwd=work_dir,
            env=executor_env(binary),
        )
    try:
        _wait_listening(process, port, startup_timeout, log_path)
        yield ExecutorProcess(process, port, settings_path, log_path, sender_comp_id)
    finally:
        # It only loops in sleep(1) until killed: SIGTERM is its normal way out.
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_listening(process: subprocess.Popen[bytes], port: int, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"executor exited with {process.returncode}: {log_path.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)  # polling a port that is not bound yet: nothing to wait on but time
    raise RuntimeError(f"executor not listening on {port} after {timeout}s: {log_path.read_text(errors='replace')}")
