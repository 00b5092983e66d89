"""The `fixgw run` lifecycle: signals, systemd notify and watchdog, reload, graceful stop with a deadline.

SIGTERM/SIGINT: graceful stop (sessions log out, the journal is flushed and closed) within
`[admin] stop_timeout_s`, then exit 0; past the deadline the process exits 1 at once. SIGHUP: reload the
configuration file (see `fixgw.ops.reload`). Under systemd (NOTIFY_SOCKET): READY=1 once the journal is open
and the sessions are configured, STATUS= lines, WATCHDOG=1 from this loop while the router thread turns.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import structlog

from fixgw.config import GatewayConfig
from fixgw.logs import error_text
from fixgw.ops.runtime import OpsRuntime
from fixgw.ops.sdnotify import Notifier
from fixgw.ops.statelock import StateDirError, StateDirLock

log = structlog.get_logger("fixgw.run")

EXIT_OK = 0
EXIT_FAILURE = 1
LOOP_SECONDS = 0.5


class Daemon:
    def __init__(self, config: GatewayConfig, config_path: Path | None = None, *,
                 notifier: Notifier | None = None) -> None:
        """Install the signal handlers (call after `import quickfix`, which resets SIGINT)."""
        self.config = config
        self.config_path = config_path
        self.notifier = notifier or Notifier.from_environment()
        self.ops: OpsRuntime | None = None
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._signals: list[str] = []
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_reload_signal)

    def _on_stop_signal(self, signum: int, _frame: object) -> None:
        self._signals.append(signal.Signals(signum).name)
        self._stop.set()

    def _on_reload_signal(self, signum: int, _frame: object) -> None:
        self._signals.append(signal.Signals(signum).name)
        self._reload.set()

    def request_stop(self) -> None:
        self._stop.set()

    def run(self, gateway: Any) -> int:
        """Lock the state dir, start `gateway`, serve until a stop signal, stop it. Returns the exit code."""
        self.notifier.status("starting: opening the journal, configuring sessions")
        lock = StateDirLock(self.config.state_dir)
        try:
            lock.acquire()  # before anything touches the state dir: a second process stops here
        except StateDirError as exc:
            return self._start_failed(str(exc))
        try:
            try:
                gateway.start()
                self.ops = OpsRuntime(gateway, config_path=self.config_path)
                self.ops.start()
            except Exception as exc:
                code = self._start_failed(error_text(exc))
                if self.ops is not None:
                    self.ops.stop()
                gateway.stop()
                return code
            self.notifier.ready(self._status_line())
            self._serve()
            return self._shutdown(gateway)
        finally:
            lock.release()

    def _start_failed(self, reason: str) -> int:
        """One line naming what failed (port, path, session): the log's and systemd's status."""
        log.critical("gateway.start_failed", error=reason)
        self.notifier.stopping(f"start failed: {reason}")
        return EXIT_FAILURE

    def _serve(self) -> None:
        assert self.ops is not None
        ping_every = self.notifier.watchdog_interval
        last_ping = 0.0
        last_status = ""
        while not self._stop.wait(min(LOOP_SECONDS, ping_every or LOOP_SECONDS)):
            while self._signals:
                log.info("gateway.signal", signal=self._signals.pop(0))
            if self._reload.is_set():
                self._reload.clear()
                self._do_reload()
            now = time.monotonic()
            if ping_every is not None and now - last_ping >= ping_every and self.ops.healthy():
                self.notifier.watchdog()
                last_ping = now
            status = self._status_line()
            if status != last_status:
                self.notifier.status(status)
                last_status = status
        while self._signals:
            log.info("gateway.signal", signal=self._signals.pop(0))

    def _do_reload(self) -> None:
        assert self.ops is not None
        self.notifier.reloading()
        result = self.ops.reload()
        text = (f"reload applied ({', '.join(result.changed) or 'no change'})" if result.applied
                else f"reload refused: {result.reason}")
        self.notifier.ready(f"{text}; {self._status_line()}")

    def _status_line(self) -> str:
        assert self.ops is not None
        sessions = self.ops.view.sessions()
        ready, detail = self.ops.readiness()
        up = sum(1 for s in sessions if s.connected)
        down = detail["sessions_down"]
        waiting = f"; waiting for {', '.join(down)}" if down else ""
        return f"{'ready' if ready else 'not ready'}: {up}/{len(sessions)} sessions up{waiting}"

    def _shutdown(self, gateway: Any) -> int:
        deadline = self.config.admin.stop_timeout_s
        self.notifier.stopping("stopping: logging sessions out, flushing the journal")
        log.info("gateway.stopping", deadline_s=deadline)
        started = time.monotonic()

        def stop_all() -> None:
            if self.ops is not None:
                self.ops.stop(min(3.0, deadline / 4))
            gateway.stop(timeout=deadline * 0.75)

        stopper = threading.Thread(target=stop_all, name="fixgw-stop", daemon=True)
        stopper.start()
        stopper.join(deadline)
        if stopper.is_alive():
            log.critical("gateway.stop_deadline_exceeded", deadline_s=deadline)
            os._exit(EXIT_FAILURE)  # threads still running would keep the process alive
        log.info("gateway.exit", seconds=round(time.monotonic() - started, 3))
        return EXIT_OK
