"""QuickFIX's log routed into structlog: session events always, messages (credentials masked) only on request.

QuickFIX's FileLog writes every message as it crossed the wire, the Logon's Password(554) included, and nothing
can mask it from Python. The gateway therefore uses this factory instead: QuickFIX's events become structlog
events (`quickfix.event`, bound to the session), raw messages are logged masked at DEBUG when `messages` is on
(the journal is the message log of record), and the connection events that matter for security - a source
address admitted or denied, a first message naming no session of ours, a failed TLS handshake, a connection
closed for not logging on in time - are passed to a listener (fixgw.security.auth.LogonAuthenticator).

A failed TLS handshake arrives as several events of the TLS acceptor's one thread (patched quickfix: OpenSSL's
certificate check among them, fixgw2): the most telling reason is kept until "Failed to accept SSL connection".
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from typing import Protocol

import quickfix as qf
import structlog

from fixgw.logs import redact_value

log = structlog.get_logger("fixgw.quickfix")

_ACCEPTED = re.compile(r"Accepted (?:SSL )?connection from (\S+) on port")
_ADMITTED = "Allows connections to the acceptor from "
_DENIED = "Deny connections to the acceptor from "
_NO_SESSION = "Session not found for incoming message: "
_TLS_FAILED = re.compile(r"Failed to accept SSL connection from (\S+) on port")
_LOGON_TIMEOUT = "Logon timeout: closed connection from "
_TLS_REASONS = (  # (event prefix, reason), most telling first: the first one seen in a handshake is kept
    ("Certificate Verification: Error ", None),  # None: the text after "): " (OpenSSL's verify error)
    ("No acceptable peer certificate available", "no client certificate"),
    ("SSL client authentication failed", "client certificate refused"),
    ("SSL handshake failed: HTTP spoken on HTTPS port", "plain HTTP on the TLS port"),
    ("SSL failure reason: ", None),  # None: OpenSSL's reason after the prefix
    ("SSL handshake stopped: connection was closed", "closed or timed out during the handshake"),
    ("SSL handshake interrupted by system", "handshake interrupted"),
)
_RESENDING = "Resending Message: "
"""One such event per message of a resend (the ResendRequest itself is logged): kept at DEBUG."""
_WARNING_WORDS = ("Rejected", "Deny", "failed", "Failed", "Error", "error", "not valid", "too low", "Timed out",
                  "Incorrect", "missing")
_HEADER_FIELD = re.compile(r"(?:^|\x01)(8|49|56)=([^\x01]*)")


class ConnectionListener(Protocol):
    def accepted(self, address: str) -> None: ...
    def connection(self, session: str, address: str, admitted: bool) -> None: ...
    def unknown_session(self, sender_comp_id: str, target_comp_id: str, begin_string: str) -> None: ...
    def tls_handshake_failed(self, address: str, reason: str) -> None: ...
    def logon_timeout(self, address: str) -> None: ...


OutgoingRecorder = Callable[[str, str, str], None]
"""(role, session name, message text) of every message a session sends, just before the socket write (HA)."""


class _SessionLog(qf.Log):  # type: ignore[misc]
    def __init__(self, session: str, role: str, listener: ConnectionListener | None, messages: bool,
                 recorder: OutgoingRecorder | None = None) -> None:
        super().__init__()
        self._recorder = recorder
        self._log = log.bind(session=session, role=role)
        self._session = session
        self._role = role
        self._listener = listener
        self._messages = messages
        self._tls_reason: str | None = None
        """The reason of the TLS handshake under way (its events come one after another from one thread)."""

    def clear(self) -> None:
        return None

    def backup(self) -> None:
        return None

    def onIncoming(self, text: str) -> None:
        if self._messages:
            self._message("in", text)

    def onOutgoing(self, text: str) -> None:
        if self._recorder is not None:
            with contextlib.suppress(BaseException):
                self._recorder(self._role, self._session, text)
        if self._messages:
            self._message("out", text)

    def _message(self, direction: str, text: str) -> None:
        with contextlib.suppress(BaseException):  # nothing may propagate into QuickFIX's C++ threads
            self._log.debug("quickfix.message", direction=direction, raw=redact_value(text).replace("\x01", "|"))

    def onEvent(self, text: str) -> None:
        if text.startswith(_RESENDING):
            self._log.debug("quickfix.event", text=text)
            return
        with contextlib.suppress(BaseException):
            self._event(text)

    def _event(self, text: str) -> None:
        listener = self._listener
        if text.startswith(_NO_SESSION):
            header = dict(_HEADER_FIELD.findall(text[len(_NO_SESSION):]))
            if listener is not None:
                listener.unknown_session(header.get("49", ""), header.get("56", ""), header.get("8", ""))
            text = _NO_SESSION + redact_value(text[len(_NO_SESSION):]).replace("\x01", "|")
        elif listener is not None and (accepted := _ACCEPTED.match(text)) is not None:
            self._tls_reason = None
            listener.accepted(accepted.group(1))
        elif listener is not None and text.startswith((_ADMITTED, _DENIED)):
            admitted = text.startswith(_ADMITTED)
            listener.connection(self._session, text[len(_ADMITTED if admitted else _DENIED):].strip(), admitted)
        elif listener is not None and (failed := _TLS_FAILED.match(text)) is not None:
            reason, self._tls_reason = self._tls_reason or "unknown", None
            listener.tls_handshake_failed(failed.group(1), reason)
        elif listener is not None and text.startswith(_LOGON_TIMEOUT):
            listener.logon_timeout(text[len(_LOGON_TIMEOUT):].strip())
        elif self._tls_reason is None:
            self._tls_reason = _tls_reason(text)
        if any(word in text for word in _WARNING_WORDS):
            self._log.warning("quickfix.event", text=text)
        else:
            self._log.info("quickfix.event", text=text)


def _tls_reason(text: str) -> str | None:
    for prefix, reason in _TLS_REASONS:
        if text.startswith(prefix):
            return reason or text[len(prefix):].partition("): ")[2] or text[len(prefix):]
    return None


class StructlogLogFactory(qf.LogFactory):  # type: ignore[misc]
    """A QuickFIX LogFactory for an acceptor or initiator (`role`); `names` maps SessionID strings to our names."""

    def __init__(self, role: str, names: Mapping[str, str], listener: ConnectionListener | None = None,
                 *, messages: bool = False, recorder: OutgoingRecorder | None = None) -> None:
        super().__init__()
        self._recorder = recorder
        self._role = role
        self._names = dict(names)
        self._listener = listener
        self._messages = messages

    def create(self, *args: object) -> qf.Log:
        key = args[0].toString() if args and isinstance(args[0], qf.SessionID) else ""
        session_log = _SessionLog(self._names.get(key, key or "GLOBAL"), self._role, self._listener, self._messages,
                                  self._recorder)
        # C++ owns the log from here (QuickFIX keeps a raw pointer): without __disown__ Python frees it twice.
        return session_log.__disown__()

    def destroy(self, session_log: qf.Log) -> None:
        """QuickFIX is done with the log; the small object is left to the process (no safe delete from here)."""
        return None
