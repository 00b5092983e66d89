"""FixClient: a QuickFIX initiator playing the EMS in tests, the demo and benchmarks.

It records what it receives (every message but heartbeats) and lets callers wait on a predicate with a
deadline: nothing here sleeps and hopes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import quickfix as qf
import structlog

from fixgw.engine.quickfix_support import (
    FIX50SP2_APPL_VER_ID,
    FIXT11,
    QuietApplication,
    build_session_settings,
    data_dictionary_settings,
    ensure_new_sessions,
    fields_to_message,
    guard_callback,
    keep_alive,
    load_data_dictionary,
    request_logout,
)
from fixgw.fix.wire import parse_fix

log = structlog.get_logger(__name__)

_HEARTBEAT = "0"


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as received: its ordered (tag, value) fields and the raw FIX text."""

    msg_type: str
    fields: list[tuple[int, str]]
    raw: str

    def get(self, tag: int) -> str | None:
        """Value of the first occurrence of `tag`, or None."""
        for field_tag, value in self.fields:
            if field_tag == tag:
                return value
        return None

    def get_all(self, tag: int) -> list[str]:
        """Values of every occurrence of `tag` (repeating groups), in order."""
        return [value for field_tag, value in self.fields if field_tag == tag]

    def __str__(self) -> str:
        return self.raw.replace("\x01", "|")


class FixClient:
    """One FIX session as initiator (the EMS side): start, wait_logged_on, send, wait_for, stop."""

    def __init__(
        self,
        *,
        port: int,
        host: str = "127.0.0.1",
        begin_string: str = "FIX.4.4",
        sender_comp_id: str = "EMS",
        target_comp_id: str = "FIXGW",
        store_dir: Path | None = None,
        validate: bool = True,
        username: str | None = None,
        password: str | None = None,
        heartbeat_interval: int = 30,
        log_dir: Path | None = None,
        extra_settings: Mapping[str, str] | None = None,
        tls: bool = False,
    ) -> None:
        """`store_dir` None keeps sequence numbers in memory. `validate` turns standard data-dictionary
        validation (specs/fix) on for inbound messages; without it QuickFIX cannot parse inbound repeating
        groups and rejects them. `extra_settings` override any QuickFIX setting. With `log_dir` QuickFIX
        logs every message, the Logon's Password (554) included: use it with test credentials only.
        `username`/`password` go on the Logon as 553/554 (FIX 4.2 too: specs/fix/FIX42.xml is extended with
        both on Logon, which stock FIX 4.2 lacks). `tls` connects with QuickFIX's SSLSocketInitiator (a quickfix
        built with TLS); its certificates come in `extra_settings` (ClientCertificateFile, ...)."""
        self.begin_string = begin_string
        self.session_id = qf.SessionID(begin_string, sender_comp_id, target_comp_id)
        self._username = username
        self._password = password
        self._condition = threading.Condition()
        self._received: list[ReceivedMessage] = []
        self._logged_on = False
        self._logon_count = 0
        settings = self._settings(host, port, store_dir, validate, heartbeat_interval, log_dir, extra_settings)
        ensure_new_sessions(settings)
        self._application = _ClientApplication(self)
        store: qf.MessageStoreFactory = (
            qf.FileStoreFactory(settings) if store_dir is not None else qf.MemoryStoreFactory()
        )
        self._initiator: qf.Initiator | None
        initiator_class = qf.SSLSocketInitiator if tls else qf.ThreadedSocketInitiator
        if log_dir is not None:
            log_factory = qf.FileLogFactory(settings)
            self._initiator = keep_alive(initiator_class(self._application, store, settings, log_factory),
                                         self._application, store, log_factory)
        else:
            self._initiator = keep_alive(initiator_class(self._application, store, settings), self._application, store)

    def _settings(
        self,
        host: str,
        port: int,
        store_dir: Path | None,
        validate: bool,
        heartbeat_interval: int,
        log_dir: Path | None,
        extra_settings: Mapping[str, str] | None,
    ) -> qf.SessionSettings:
        default = {
            "ConnectionType": "initiator",
            "SocketConnectHost": host,
            "SocketConnectPort": str(port),
            "HeartBtInt": str(heartbeat_interval),
            # A test peer may start after us: retry quickly rather than QuickFIX's 30 s default.
            "ReconnectInterval": "1",
            "NonStopSession": "Y",
            "SocketNodelay": "Y",
        }
        if store_dir is not None:
            default["FileStorePath"] = str(store_dir)
        if log_dir is not None:
            default["FileLogPath"] = str(log_dir)
        if validate:
            default.update(data_dictionary_settings(self.begin_string))
        else:
            default["UseDataDictionary"] = "N"
        if self.begin_string == FIXT11:
            default["DefaultApplVerID"] = FIX50SP2_APPL_VER_ID
        default.update(extra_settings or {})
        session = {
            "BeginString": self.begin_string,
            "SenderCompID": self.session_id.getSenderCompID().getValue(),
            "TargetCompID": self.session_id.getTargetCompID().getValue(),
        }
        return build_session_settings(default, [session])

    def start(self) -> None:
        """Start connecting (returns at once; see wait_logged_on). A stopped client cannot restart."""
        if self._initiator is None:
            raise RuntimeError("this FixClient was stopped: create a new one")
        self._initiator.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Log out cleanly, wait up to `timeout` seconds for the Logout reply, then stop the initiator
        and release its session (QuickFIX unregisters a session only when the initiator is destroyed)."""
        if self._initiator is None:
            return
        if self.logged_on and request_logout(self.session_id, "client stopping"):
            self.wait_logged_off(timeout)
        # force=True: we already waited for the logout; QuickFIX's own wait polls in whole seconds.
        self._initiator.stop(True)
        self._initiator = None

    def __enter__(self) -> FixClient:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def logged_on(self) -> bool:
        with self._condition:
            return self._logged_on

    @property
    def logon_count(self) -> int:
        """How many times the session has logged on since construction (reconnects included)."""
        with self._condition:
            return self._logon_count

    def wait_logged_on(self, timeout: float = 10.0) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: self._logged_on, timeout)

    def wait_logged_off(self, timeout: float = 10.0) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: not self._logged_on, timeout)

    def send(self, message: Sequence[tuple[int, str]] | qf.Message) -> bool:
        """Send a body field list starting with (35, MsgType) (see fields_to_message) or a built Message.

        Returns QuickFIX's answer: False when not logged on (QuickFIX still stores the message, so the
        peer receives it as a PossDup resend after the next logon if it asks for the gap).
        """
        if not isinstance(message, qf.Message):
            dictionary = load_data_dictionary(self.begin_string)  # cached; loaded on first use only
            message = fields_to_message(message, dictionary, begin_string=self.begin_string)
        sent: bool = qf.Session.sendToTarget(message, self.session_id)
        return sent

    @property
    def received(self) -> list[ReceivedMessage]:
        """A snapshot of every message received so far except heartbeats, oldest first."""
        with self._condition:
            return list(self._received)

    def wait_for(
        self, predicate: Callable[[ReceivedMessage], bool], timeout: float = 5.0, *, start: int = 0
    ) -> ReceivedMessage:
        """The first received message (from index `start` of `received`) matching `predicate`.

        Raises TimeoutError listing what was received when nothing matches within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        index = start
        with self._condition:
            while True:
                while index < len(self._received):
                    candidate = self._received[index]
                    index += 1
                    if predicate(candidate):
                        return candidate
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = "\n  ".join(str(message) for message in self._received[start:]) or "(nothing)"
                    raise TimeoutError(f"no matching message within {timeout}s; received:\n  {seen}")
                self._condition.wait(remaining)

    def _on_logon(self) -> None:
        with self._condition:
            self._logged_on = True
            self._logon_count += 1
            self._condition.notify_all()

    def _on_logout(self) -> None:
        with self._condition:
            self._logged_on = False
            self._condition.notify_all()

    def _on_message(self, message: qf.Message) -> None:
        raw = message.toString()
        fields = parse_fix(raw)
        msg_type = next((value for tag, value in fields if tag == 35), "")
        if msg_type == _HEARTBEAT:
            return
        with self._condition:
            self._received.append(ReceivedMessage(msg_type, fields, raw))
            self._condition.notify_all()

    def _add_credentials(self, message: qf.Message) -> None:
        if message.getHeader().getField(35) != "A":
            return
        if self._username is not None:
            message.setField(553, self._username)
        if self._password is not None:
            message.setField(554, self._password)


class _ClientApplication(QuietApplication):
    """QuickFIX callbacks: copy what arrives into the client and return at once."""

    def __init__(self, client: FixClient) -> None:
        super().__init__()
        self._client = client

    @guard_callback
    def onLogon(self, session_id: qf.SessionID) -> None:
        log.info("fix_client_logged_on", session=str(session_id))
        self._client._on_logon()

    @guard_callback
    def onLogout(self, session_id: qf.SessionID) -> None:
        log.info("fix_client_logged_out", session=str(session_id))
        self._client._on_logout()

    @guard_callback
    def toAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        self._client._add_credentials(message)

    @guard_callback
    def fromAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        self._client._on_message(message)

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        self._client._on_message(message)
