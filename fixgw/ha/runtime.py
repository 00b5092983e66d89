"""An HA node's life around the gateway (used by fixgw/ops/daemon.py): standby until the lease is ours, the fence
and session continuity wired into the gateway before it starts, renewal while active, and the way out - fenced
(halt: no Logout, nothing sent) or handing over (graceful stop, then the lease released for the standby).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import structlog

from fixgw.config import GatewayConfig
from fixgw.engine.continuity import HaHooks, SessionContinuity, SessionRecorder
from fixgw.ha.node import HaNode, Role
from fixgw.store.database import make_engine
from fixgw.store.jobruns import JobClaims
from fixgw.store.lease import Lease
from fixgw.store.sessionledger import SessionLedger

log = structlog.get_logger("fixgw.ha")

EXIT_FENCED = 3
"""This node lost the lease while active: it ended at once and sent nothing more (systemd starts it again as
standby)."""


class HaRuntime:
    def __init__(self, config: GatewayConfig, *, wake: threading.Event | None = None,
                 exit_on_fence: bool = True) -> None:
        """`wake` is set when this node must leave the active role (fenced or asked to step down). With
        `exit_on_fence` (the daemon) a fenced node ends the process at once, EXIT_FENCED: the kernel closes its
        sockets, and neither a Logout nor anything else of QuickFIX's goes out."""
        settings = config.ha
        assert settings.node_id is not None  # config validation
        self.config = config
        self.fenced = threading.Event()
        self.step_down_requested = threading.Event()
        self._wake = wake
        self._exit_on_fence = exit_on_fence
        self.engine = make_engine(config.journal_url)  # its own pool: the lease connection outlives the journal's
        self.lease = Lease(self.engine, cluster=settings.cluster, node_id=settings.node_id, lease_s=settings.lease_s)
        self.lease.install_fence(self.engine)  # the recorder's writes; the lease's own transactions are not fenced
        self.node = HaNode(settings, self.lease, on_fenced=self._on_fenced, on_step_down=self._on_step_down)
        self.recorder = SessionRecorder(SessionLedger(self.engine), on_fenced=self.node.fence,
                                        may_send=self.node.may_send)
        self._gateway: Any = None

    def wait_active(self, gateway: Any, stop: threading.Event, tick: Callable[[], None] | None = None) -> bool:
        """Standby: the journal open (schema current), the lease polled. True once this node holds it; then the
        journal writes are fenced and the gateway carries the HA hooks (start it next)."""
        gateway.journal.open()
        if not self.node.wait_active(stop, tick):
            return False
        self.lease.install_fence(gateway.journal.engine)
        continuity = SessionContinuity(SessionLedger(gateway.journal.engine), gateway.journal,
                                       self.config.ha.sequence_gap)
        jobs = JobClaims(gateway.journal.engine, cluster=self.config.ha.cluster, node=self.lease.node_id,
                         epoch=lambda: self.lease.epoch if self.node.may_send() else None)
        gateway.ha = HaHooks(continuity, self.recorder, self.node.may_send, self.node.fence, jobs)
        self._gateway = gateway
        self.node.start_renewing()  # now: rebuilding the book and starting the sessions may take longer than lease_s
        return True

    def check(self) -> None:
        self.node.check()

    @property
    def active(self) -> bool:
        return self.node.role is Role.ACTIVE

    def halt(self, gateway: Any) -> None:
        """Fenced: drop the connections without a word, stop the router; the process then exits."""
        gateway.halt()
        self.recorder.stop(1.0)
        self.node.stop()
        self.engine.dispose()

    def hand_over(self) -> None:
        """After a graceful stop of the gateway (sessions logged out, journal flushed): record the last messages,
        release the lease (the standby takes it at its next poll)."""
        self.recorder.stop()
        if self.node.role is Role.ACTIVE:
            self.node.step_down()
        self.node.stop()
        self.engine.dispose()

    def close(self) -> None:
        """Leaving as standby."""
        self.node.stop()
        self.engine.dispose()

    def status(self) -> dict[str, object]:
        status = self.node.status()
        status["recorded_messages"] = self.recorder.recorded
        return status

    def _on_fenced(self, reason: str) -> None:
        if self._exit_on_fence:
            log.critical("gateway.exit", role="fenced", code=EXIT_FENCED, reason=reason)
            sys.stdout.flush()
            os._exit(EXIT_FENCED)
        self.fenced.set()
        if self._wake is not None:
            self._wake.set()

    def _on_step_down(self) -> None:
        self.step_down_requested.set()
        if self._wake is not None:
            self._wake.set()
