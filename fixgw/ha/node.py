"""One node of an active/standby pair: waits as standby, becomes active by taking the lease, keeps it alive, and
fences itself the moment it cannot be sure it still holds it.

Two clocks keep a paused or cut-off active from sending: the database's (a standby takes over once expires_at has
passed, and every journal write checks the epoch: fixgw/store/lease.py), and this node's monotonic clock
(`may_send()` is false once lease_s has passed since the start of the last successful renewal - before the
database's expiry, which was set later). CLOCK_MONOTONIC runs on while a process is stopped, so a node woken by
SIGCONT after its lease ran out refuses to send before it has done anything else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum

import structlog

from fixgw.ha.settings import HaConfig
from fixgw.store.haview import read_views, standby_lag
from fixgw.store.lease import Lease, LeaseState
from fixgw.store.records import JournalError

log = structlog.get_logger("fixgw.ha")


FENCE_WAIT_S = 30.0
"""How long a thread that finds another fencing this node waits for it (`on_fenced` ends the process)."""


class Role(str, Enum):
    STANDBY = "standby"
    ACTIVE = "active"
    FENCED = "fenced"
    """Was active, lost the lease: sends nothing, writes nothing; the process stops (systemd starts a standby)."""


class HaNode:
    """The election of one node; `on_fenced(reason)` is called once, from whichever thread noticed."""

    def __init__(self, settings: HaConfig, lease: Lease, *, on_fenced: Callable[[str], None] | None = None,
                 on_step_down: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.lease = lease
        self.on_fenced = on_fenced
        self.on_step_down = on_step_down
        """Called once when a renewal finds that `fixgw ha step-down` asked this active to hand over."""
        self.role = Role.STANDBY
        self.became_active_at: float | None = None
        """time.time() when this node took the lease (metrics, takeover timing)."""
        self.last_error: str | None = None
        self._valid_until = 0.0
        self._lock = threading.Lock()
        self._fenced_done = threading.Event()
        self._fencing_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def epoch(self) -> int | None:
        return self.lease.epoch

    # ------------------------------------------------------------------ standby

    def wait_active(self, stop: threading.Event, tick: Callable[[], None] | None = None) -> bool:
        """Poll the lease until this node holds it (True) or `stop` is set (False); `tick()` after each poll (the
        systemd watchdog). The caller then fences the journal, builds the gateway and calls `start_renewing`."""
        logged_waiting = False
        while not stop.is_set():
            started = time.monotonic()
            try:
                epoch = self.lease.acquire()
            except JournalError as exc:
                self._note_error(exc)
                epoch = None
            if epoch is not None:
                with self._lock:
                    self._valid_until = started + self.settings.lease_s
                    self.role = Role.ACTIVE
                    self.became_active_at = time.time()
                log.warning("ha.active", node=self.settings.node_id, epoch=epoch,
                            advisory_lock=self.lease.has_lock)
                self._forget_view()
                return True
            try:
                self.lease.report_view()  # the standby's lag: how far the journal has moved past this read
            except JournalError as exc:
                self._note_error(exc)
            if not logged_waiting:
                state = self._state_or_none()
                log.info("ha.standby", node=self.settings.node_id, holder=state.holder if state else None,
                         epoch=state.epoch if state else None)
                logged_waiting = True
            if tick is not None:
                tick()
            stop.wait(self.settings.poll_every_s)
        return False

    # ------------------------------------------------------------------ active

    def start_renewing(self) -> None:
        self._thread = threading.Thread(target=self._renew_loop, name="fixgw-ha-lease", daemon=True)
        self._thread.start()

    def may_send(self) -> bool:
        """True while this node is active and its lease is certainly still valid (any thread, no I/O)."""
        return self.role is Role.ACTIVE and time.monotonic() < self._valid_until

    def check(self) -> None:
        """Fence now if the lease ran out on our own clock (the daemon's loop calls this; cheap)."""
        if self.role is Role.ACTIVE and time.monotonic() >= self._valid_until:
            self.fence("lease expired before it could be renewed")

    def fence(self, reason: str) -> None:
        """Fence this node (once). A thread arriving while another is fencing waits until `on_fenced` has
        returned: the caller may be about to put a message on a socket (QuickFIX's log callback, a heartbeat due
        right after a pause), and with `on_fenced` ending the process it must never get to."""
        with self._lock:
            first = self.role is Role.ACTIVE
            if first:
                self.role = Role.FENCED
                self._fencing_thread = threading.current_thread()
            fenced_elsewhere = (not first and self.role is Role.FENCED
                                and self._fencing_thread is not threading.current_thread())
        if not first:
            if fenced_elsewhere:
                self._fenced_done.wait(FENCE_WAIT_S)
            return
        try:
            log.critical("ha.fenced", node=self.settings.node_id, epoch=self.lease.epoch, reason=reason)
            if self.on_fenced is not None:
                self.on_fenced(reason)
        finally:
            self._fenced_done.set()

    def step_down(self) -> bool:
        """Planned switch-over: give the lease up (the caller has stopped the sessions and drained the router)."""
        with self._lock:
            was_active = self.role is Role.ACTIVE
            self.role = Role.STANDBY
        self._stop.set()
        try:
            released = self.lease.step_down()
        except JournalError as exc:
            self._note_error(exc)
            released = False
        log.warning("ha.stepped_down", node=self.settings.node_id, released=released, was_active=was_active)
        return released

    def stop(self) -> None:
        self._stop.set()
        if self.role is Role.STANDBY:
            self._forget_view()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        self.lease.close()

    def _renew_loop(self) -> None:
        period = self.settings.renew_period_s
        while not self._stop.wait(period):
            if self.role is not Role.ACTIVE:
                return
            started = time.monotonic()
            try:
                renewed = self.lease.renew()
            except JournalError as exc:
                self._note_error(exc)
                self.check()
                continue
            if not renewed:
                self.fence("another node holds the lease")
                return
            with self._lock:
                self._valid_until = started + self.settings.lease_s
            self.check()  # a renewal that itself took longer than the lease proves nothing
            if self.lease.step_down_requested and self.on_step_down is not None:
                log.warning("ha.step_down_requested", node=self.settings.node_id, epoch=self.lease.epoch)
                on_step_down, self.on_step_down = self.on_step_down, None
                on_step_down()

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, object]:
        state = self._state_or_none()
        remaining = self._valid_until - time.monotonic() if self.role is Role.ACTIVE else None
        return {
            "node": self.settings.node_id, "cluster": self.settings.cluster, "role": self.role.value,
            "epoch": self.lease.epoch, "holder": state.holder if state else None,
            "lease_epoch": state.epoch if state else None,
            "lease_age_s": round(state.age_s, 3) if state and state.age_s is not None else None,
            "lease_held": state.held if state else None,
            "own_lease_left_s": round(remaining, 3) if remaining is not None else None,
            "advisory_lock": self.lease.has_lock, "last_error": self.last_error,
            **self._standbys(state.holder if state and state.held else None),
        }

    def _standbys(self, holder: str | None) -> dict[str, object]:
        try:
            views = read_views(self.lease.engine, self.settings.cluster, exclude=holder)
        except JournalError as exc:
            self._note_error(exc)
            return {"standby_lag_s": None, "standbys": []}
        return {"standby_lag_s": standby_lag(views), "standbys": [view.to_json() for view in views]}

    def _forget_view(self) -> None:
        try:
            self.lease.forget_view()
        except JournalError as exc:
            self._note_error(exc)

    def _state_or_none(self) -> LeaseState | None:
        try:
            return self.lease.state()
        except JournalError as exc:
            self._note_error(exc)
            return None

    def _note_error(self, exc: Exception) -> None:
        text = str(exc).splitlines()[0][:300]
        if text != self.last_error:
            log.error("ha.lease_error", node=self.settings.node_id, error=text)
        self.last_error = text
