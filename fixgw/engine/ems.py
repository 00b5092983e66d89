"""The QuickFIX acceptor application for EMS sessions: converts and hands off, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import quickfix as qf
import structlog

from fixgw.engine.quickfix_support import QuietApplication, guard_callback, message_text_fields
from fixgw.engine.security import logon_credentials
from fixgw.model.orders import utc_now

log = structlog.get_logger("fixgw.engine.ems")

InboundHandler = Callable[[str, list[tuple[int, str]], datetime, str], None]
"""(EMS session name, fields, received at, QuickFIX's text of the message)."""
SessionHandler = Callable[[str, bool], None]
"""(EMS session name, logged on?)."""
LogonCheck = Callable[[str, str | None, str | None], str | None]
"""(EMS session name, Username(553), Password(554)) -> None to accept, else the reason to refuse."""


class EmsApplication(QuietApplication):
    def __init__(self, names: dict[str, str], on_message: InboundHandler, on_session: SessionHandler,
                 logon_check: LogonCheck | None = None) -> None:
        """`names` maps QuickFIX SessionID strings to the configured EMS session names."""
        super().__init__()
        self._names = names
        self._logon_check = logon_check
        self._on_message = on_message
        self._on_session = on_session
        self.logged_on: set[str] = set()

    def name_of(self, session_id: qf.SessionID) -> str | None:
        return self._names.get(session_id.toString())

    @guard_callback
    def onLogon(self, session_id: qf.SessionID) -> None:
        name = self.name_of(session_id)
        if name is not None:
            self.logged_on.add(name)
            self._on_session(name, True)

    @guard_callback
    def onLogout(self, session_id: qf.SessionID) -> None:
        name = self.name_of(session_id)
        if name is not None:
            self.logged_on.discard(name)
            self._on_session(name, False)

    @guard_callback
    def fromAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        if self._logon_check is not None and message.getHeader().getField(35) == "A":
            name = self.name_of(session_id)
            try:
                reason = "unknown session" if name is None else self._logon_check(name, *logon_credentials(message))
            except Exception as exc:  # fail closed: a failing check refuses the logon, never admits it
                log.exception("security.logon_check_failed", session=name, error=repr(exc))
                reason = "logon could not be verified"
            if reason is not None:
                raise qf.RejectLogon(reason)  # QuickFIX answers with a Logout carrying the reason, then disconnects

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        name = self.name_of(session_id)
        if name is not None:
            # Copy out now: the message object is only valid during the callback.
            text, fields = message_text_fields(message)
            self._on_message(name, fields, utc_now(), text)
