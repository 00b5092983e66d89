"""Logon authentication of EMS sessions: credentials, source address, lockout; logged and counted.

The engine calls `check()` from QuickFIX's fromAdmin for every Logon and refuses the logon (RejectLogon)
with the text it returns; QuickFIX's own connection events (a connection accepted, its address admitted or
denied, an unknown CompID, a failed TLS handshake, a connection closed without a Logon) arrive through
`accepted()`, `connection()`, `unknown_session()`, `tls_handshake_failed()` and `logon_timeout()`. A refusal text
tells the EMS what to fix without telling an attacker which half of the credentials was wrong. Connection-level
events are counted every time and logged once per source address and minute (a scan must not flood the log).

Source address: the plain-TCP acceptor names a connection's address for its session ("Allows/Deny connections
... from") on the connection's own thread right before the Logon is processed, so `check()` knows it exactly and
refuses a disallowed one too (QuickFIX 1.16 unpatched goes on reading a denied connection's next frame). The TLS
acceptor only reports accepted connections; there the address is that of the most recent one (logs and lockout
only: allow-lists are refused with TLS).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from fixgw.config import GatewayConfig
from fixgw.security.lockout import LogonThrottle
from fixgw.security.passwords import burn_verify_time, verify_password

log = structlog.get_logger("fixgw.security")

BAD_CREDENTIALS = "invalid username or password"
ADDRESS_NOT_ALLOWED = "source address not allowed"
EVENT_LOG_INTERVAL_S = 60.0
"""A connection-level security event is logged at most once per source address and event in this interval."""


@dataclass(frozen=True, slots=True)
class SessionCredentials:
    """What one EMS session must present. Empty fields are not checked."""

    username: str | None = None
    password_hash: str | None = None
    allowed_addresses: frozenset[str] = frozenset()


class LogonAuthenticator:
    def __init__(self, sessions: Mapping[str, SessionCredentials], throttle: LogonThrottle | None = None) -> None:
        self._sessions = dict(sessions)
        self.throttle = throttle or LogonThrottle()
        self._last_accepted: str | None = None
        self._session_address: dict[str, str] = {}
        self._lock = threading.Lock()
        self.refusals: Counter[str] = Counter()
        """Refused logons and connections by reason: credentials, address, locked, unknown_comp_id."""
        self.connection_events: Counter[str] = Counter()
        """Connections closed before a session: tls_handshake_failed, logon_timeout."""
        self.logons_accepted = 0
        self._event_logged: dict[tuple[str, str], tuple[float, int]] = {}
        """(event, address) -> (monotonic time it was last logged, occurrences since)."""

    # ------------------------------------------------------------------ connection events from QuickFIX

    def accepted(self, address: str) -> None:
        """QuickFIX accepted a TCP connection from `address` (its first message is read next)."""
        self._last_accepted = address

    def connection(self, session: str, address: str, admitted: bool) -> None:
        """QuickFIX admitted (or, address not allowed, denied) a connection for `session` from `address`."""
        self._session_address[session] = address
        if not admitted:
            self._count("address")
            log.warning("security.connection_denied", session=session, address=address, reason=ADDRESS_NOT_ALLOWED)

    def unknown_session(self, sender_comp_id: str, target_comp_id: str, begin_string: str) -> None:
        """A first message named a session we do not have: QuickFIX dropped the connection."""
        self._count("unknown_comp_id")
        log.warning("security.logon_refused", reason="unknown CompID", sender_comp_id=sender_comp_id,
                    target_comp_id=target_comp_id, begin_string=begin_string)

    def tls_handshake_failed(self, address: str, reason: str) -> None:
        """A TLS handshake from `address` failed (no or unknown client certificate, old protocol, not TLS...)."""
        self._connection_event("tls_handshake_failed", address, reason=reason)

    def logon_timeout(self, address: str) -> None:
        """QuickFIX closed a connection from `address` that had not logged on within acceptor.logon_timeout_s."""
        self._connection_event("logon_timeout", address)

    def _connection_event(self, event: str, address: str, **detail: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.connection_events[event] += 1
            logged_at, since = self._event_logged.get((event, address), (-EVENT_LOG_INTERVAL_S, 0))
            if now - logged_at < EVENT_LOG_INTERVAL_S:
                self._event_logged[(event, address)] = (logged_at, since + 1)
                return
            if len(self._event_logged) > 10_000:  # a wide scan: forget the oldest half, not the memory
                for key in sorted(self._event_logged, key=lambda k: self._event_logged[k][0])[:5_000]:
                    del self._event_logged[key]
            self._event_logged[(event, address)] = (now, 0)
        log.warning(f"security.{event}", address=address, suppressed=since, **detail)

    # ------------------------------------------------------------------ the Logon

    def check(self, session: str, username: str | None, password: str | None) -> str | None:
        """None to accept the Logon of `session`; else the reason to refuse it with (Logout Text)."""
        credentials = self._sessions.get(session, SessionCredentials())
        address = self._session_address.pop(session, None) or self._last_accepted
        keys = [f"session:{session}"] + ([f"address:{address}"] if address else [])
        if credentials.allowed_addresses and address not in credentials.allowed_addresses:
            return self._refuse(session, address, "address", ADDRESS_NOT_ALLOWED, keys=[])
        locked = max(self.throttle.locked_for(key) for key in keys)
        if locked > 0:
            return self._refuse(session, address, "locked",
                                f"too many failed logons: try again in {int(locked) + 1} s", keys=[])
        if not self._credentials_match(credentials, username, password):
            return self._refuse(session, address, "credentials", BAD_CREDENTIALS, keys=keys)
        for key in keys:
            self.throttle.success(key)
        with self._lock:
            self.logons_accepted += 1
        log.info("security.logon_accepted", session=session, address=address, username=username)
        return None

    @staticmethod
    def _credentials_match(credentials: SessionCredentials, username: str | None, password: str | None) -> bool:
        ok = True
        if credentials.username is not None:
            ok = username is not None and hmac.compare_digest(username.encode(), credentials.username.encode())
        if credentials.password_hash is not None:
            if password is None:
                burn_verify_time("")
                return False
            # Verify even after a wrong username: the answer takes as long either way.
            ok = verify_password(credentials.password_hash, password) and ok
        return ok

    def _refuse(self, session: str, address: str | None, reason: str, text: str, *, keys: list[str]) -> str:
        locked_for = 0.0
        for key in keys:
            locked_for = max(locked_for, self.throttle.failure(key))
        self._count(reason)
        log.warning("security.logon_refused", session=session, address=address, reason=text,
                    failures=self.throttle.failures(f"session:{session}"), locked_for=locked_for)
        return text

    def _count(self, reason: str) -> None:
        with self._lock:
            self.refusals[reason] += 1

    def snapshot(self) -> dict[str, int]:
        """Counters for metrics: accepted logons and refusals by reason."""
        with self._lock:
            return {"accepted": self.logons_accepted, **{f"refused_{k}": v for k, v in self.refusals.items()},
                    **self.connection_events}


def authenticator_from_config(config: GatewayConfig) -> LogonAuthenticator:
    """The authenticator for the EMS sessions of `config` (hash secrets resolved, lockout as configured)."""
    lockout = config.acceptor.lockout
    sessions = {name: SessionCredentials(
        username=ems.username,
        password_hash=ems.password_hash.get_secret_value() if ems.password_hash else None,
        allowed_addresses=frozenset(str(address) for address in ems.allowed_addresses))
        for name, ems in config.ems.items()}
    return LogonAuthenticator(sessions, LogonThrottle(max_failures=lockout.max_failures,
                                                      base_seconds=lockout.base_seconds,
                                                      max_seconds=lockout.max_seconds))
