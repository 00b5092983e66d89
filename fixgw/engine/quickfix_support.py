"""Small QuickFIX plumbing shared by the gateway engine, the simulators and the tests.

Owns: session settings built from plain dicts, the bundled data dictionaries, the conversion between
quickfix.Message and ordered (tag, value) lists, and the guard that keeps Python exceptions out of C++.
"""

from __future__ import annotations

import ctypes
import functools
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import ParamSpec, TypeVar

import quickfix as qf
import structlog

from fixgw.fix.wire import SOH, frame_fix, parse_fix

log = structlog.get_logger(__name__)

FIX42 = "FIX.4.2"
FIX44 = "FIX.4.4"
FIXT11 = "FIXT.1.1"
FIX50SP2_APPL_VER_ID = "9"
"""DefaultApplVerID for FIX 5.0 SP2 application messages over a FIXT.1.1 session."""

QUICKFIX_EXCEPTIONS: tuple[type[BaseException], ...] = (
    qf.FieldNotFound,
    qf.IncorrectTagValue,
    qf.IncorrectDataFormat,
    qf.UnsupportedMessageType,
    qf.RejectLogon,
    qf.DoNotSend,
)
"""Exceptions QuickFIX expects from callbacks and turns into protocol behaviour (reject, logout, no send)."""

_SPEC_FILES: dict[str, str] = {FIX42: "FIX42.xml", FIX44: "FIX44.xml", FIXT11: "FIXT11.xml"}
_FIXT_APP_SPEC = "FIX50SP2.xml"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the usual small race applies)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def spec_dir() -> Path:
    """Folder holding the QuickFIX data dictionaries: $FIXGW_SPEC_DIR, else the repository's specs/fix."""
    override = os.environ.get("FIXGW_SPEC_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "specs" / "fix"


def data_dictionary_settings(begin_string: str) -> dict[str, str]:
    """Session settings that switch on standard data-dictionary validation for `begin_string`."""
    folder = spec_dir()
    if begin_string == FIXT11:
        return {
            "UseDataDictionary": "Y",
            "TransportDataDictionary": str(folder / _SPEC_FILES[FIXT11]),
            "AppDataDictionary": str(folder / _FIXT_APP_SPEC),
        }
    if begin_string not in _SPEC_FILES:
        raise ValueError(f"no bundled data dictionary for {begin_string!r}")
    return {"UseDataDictionary": "Y", "DataDictionary": str(folder / _SPEC_FILES[begin_string])}


_dictionaries: dict[str, qf.DataDictionary] = {}  # begin string -> application dictionary
_dictionary_lock = threading.Lock()


def load_data_dictionary(begin_string: str) -> qf.DataDictionary:
    """The bundled application data dictionary for `begin_string` (FIX 5.0 SP2 for FIXT.1.1), cached.

    Loaded once per process (FIX50SP2.xml takes seconds) from spec_dir() as it was at first use. QuickFIX
    only reads a DataDictionary after loading it, so threads may share one; copy before extending it.
    """
    dictionary = _dictionaries.get(begin_string)  # hot path: a dict read, no lock, no file system
    if dictionary is not None:
        return dictionary
    if begin_string == FIXT11:
        name = _FIXT_APP_SPEC
    elif begin_string in _SPEC_FILES:
        name = _SPEC_FILES[begin_string]
    else:
        raise ValueError(f"no bundled data dictionary for {begin_string!r}")
    with _dictionary_lock:
        dictionary = _dictionaries.get(begin_string)
        if dictionary is None:
            dictionary = qf.DataDictionary(str(spec_dir() / name))
            _dictionaries[begin_string] = dictionary
        return dictionary


def build_session_settings(default: Mapping[str, str], sessions: Sequence[Mapping[str, str]]) -> qf.SessionSettings:
    """QuickFIX settings from a DEFAULT dict plus one dict per session.

    Each session dict must hold BeginString, SenderCompID and TargetCompID (SessionQualifier optional);
    every other key is passed to QuickFIX untouched and overrides the same key in `default`.
    QuickFIX validates each session as it is added and raises quickfix.ConfigError (e.g. a missing or
    wrong ConnectionType); a duplicate session is a ConfigError too.
    """
    settings = qf.SessionSettings()
    # Defaults first: SessionSettings.set(session) merges the defaults known at that moment.
    settings.set(_settings_dictionary(default))
    for session in sessions:
        missing = [key for key in ("BeginString", "SenderCompID", "TargetCompID") if not session.get(key)]
        if missing:
            raise ValueError(f"session settings lack {', '.join(missing)}: {dict(session)!r}")
        session_id = qf.SessionID(
            session["BeginString"],
            session["SenderCompID"],
            session["TargetCompID"],
            session.get("SessionQualifier", ""),
        )
        settings.set(session_id, _settings_dictionary(session))
    return settings


def _settings_dictionary(values: Mapping[str, str]) -> qf.Dictionary:
    dictionary = qf.Dictionary()
    for key, value in values.items():
        if not isinstance(value, str):
            raise TypeError(f"setting {key} must be a str, got {type(value).__name__}")
        dictionary.setString(key, value)
    return dictionary


def message_to_fields(message: qf.Message) -> list[tuple[int, str]]:
    """Every (tag, value) of `message` in wire order: header, body (groups in order), trailer.

    QuickFIX serialises body fields in ascending tag order (groups stay in place), BodyLength and
    CheckSum are recomputed by toString(). Length-prefixed data fields (e.g. 95/96) keep embedded SOH.
    """
    return parse_fix(message.toString(), SOH)


def message_text_fields(message: qf.Message) -> tuple[str, list[tuple[int, str]]]:
    """QuickFIX's own text of `message` (what the journal keeps) and its fields as `message_to_fields` gives them."""
    text = message.toString()
    return text, parse_fix(text, SOH)


def fields_to_message(
    fields: Sequence[tuple[int, str]],
    data_dictionary: qf.DataDictionary | None = None,
    *,
    begin_string: str | None = None,
) -> qf.Message:
    """A sendable quickfix.Message from an ordered field list starting with (35, MsgType).

    The fields are written out as FIX text and parsed by QuickFIX with a data dictionary (the bundled one
    for `begin_string` unless `data_dictionary` is given, which for FIXT.1.1 is the application one) and
    validation off, so:
    - repeating groups known to the dictionary (453 parties, 957 strategy parameters, ...) keep their
      entries in the given order; the fields of a group the dictionary does not know (453 in FIX 4.2; 957 in
      stock FIX 4.4, which specs/fix adds) are kept but sorted by tag, which scrambles its entries: extend
      the XML, or a copy of the dictionary with DataDictionary.addGroup, and pass that;
    - other body fields end up in ascending tag order (QuickFIX's own serialisation), unknown tags kept;
    - header fields in the list (e.g. 49/56/34/52/115/128) go to the header; the session fills
      BeginString, SenderCompID, TargetCompID, MsgSeqNum and SendingTime when the message is sent;
    - BeginString is `begin_string`, else inferred from the dictionary (FIX.5.0* means FIXT.1.1).
    Values must not contain SOH (ValueError) except in length-prefixed data fields such as 96.
    Raises quickfix.InvalidMessage when QuickFIX cannot parse the structure.
    """
    if not fields or fields[0][0] != 35:
        raise ValueError("the field list must start with (35, MsgType)")
    if begin_string is None:
        if data_dictionary is None:
            raise ValueError("give begin_string or a data_dictionary to take it from")
        version = data_dictionary.getVersion()
        begin_string = FIXT11 if version.startswith("FIX.5") else version
    if data_dictionary is None:
        data_dictionary = load_data_dictionary(begin_string)
    return qf.Message(frame_fix(begin_string, fields), data_dictionary, False)


def ensure_new_sessions(settings: qf.SessionSettings) -> None:
    """Raise ValueError if a session in `settings` already lives in this process.

    QuickFIX keeps one process-wide registry of sessions by SessionID: a second live session with the same
    id silently shares the first one's entry, and destroying either unregisters both, after which
    sendToTarget fails and stop() can segfault. A session stays registered until its Initiator/Acceptor
    object is destroyed, not merely stopped.
    """
    sessions = settings.getSessions()
    for session_id in sessions:
        if qf.Session.doesSessionExist(session_id):
            raise ValueError(f"QuickFIX session {session_id} already exists in this process")


def request_logout(session_id: qf.SessionID, reason: str) -> bool:
    """Ask a logged-on session to log out now; False if QuickFIX does not know the session.

    Session.logout() only flags the session; QuickFIX acts on the flag the next time the session runs,
    which is its one-second timer unless a message arrives. A TestRequest makes the peer answer at once,
    so the Logout goes out within a round trip instead of up to a second later.

    The TestRequest goes out before the flag is set, never after: once flagged, the timer may send the
    Logout at any moment, and a TestRequest behind it takes a sequence number the peer never processes
    (it stops reading at the Logout), so the next logon opens with a gap and a ResendRequest.
    """
    session = qf.Session.lookupSession(session_id)
    if session is None:
        return False
    if session.isLoggedOn():  # else nothing to hurry: a TestRequest now would only be queued in the store
        begin_string = session_id.getBeginString().getValue()
        test_request = qf.Message()
        test_request.getHeader().setField(qf.BeginString(begin_string))
        test_request.getHeader().setField(qf.MsgType("1"))
        test_request.setField(qf.TestReqID("logout"))
        qf.Session.sendToTarget(test_request, session_id)
    session.logout(reason)
    return True


P = ParamSpec("P")
R = TypeVar("R")
E = TypeVar("E")


_gil_state_ensure = ctypes.pythonapi.PyGILState_Ensure
_gil_state_ensure.restype = ctypes.c_int
_gil_state_release = ctypes.pythonapi.PyGILState_Release
_gil_state_release.argtypes = [ctypes.c_int]
_held = threading.local()


def hold_thread_state() -> None:
    """Keep the calling thread's Python thread state alive between QuickFIX callbacks, until as many
    `release_thread_state` calls on the same thread.

    QuickFIX calls into Python from its own C++ threads. Each call (SWIG's PyGILState_Ensure/Release) finds no
    Python thread state on such a thread, creates one and deletes it on return: ~20 us per callback here, and a
    session pays it for every message it receives, every message it resends, and every line of its log (a
    100,000-message resend spent 4.5 of its 9 s on it; BENCHMARKS.md). One more Ensure, released only later,
    keeps the state: later callbacks on the thread only take the GIL. Holds are counted per thread (the TLS
    acceptor runs all its sessions on one thread: the first session's logout must not drop the others' hold),
    and the extra reference is counted by Python too, so on a thread Python itself started this is a no-op."""
    sessions = getattr(_held, "sessions", 0)
    if sessions == 0:
        _held.state = _gil_state_ensure()
    _held.sessions = sessions + 1


def release_thread_state() -> None:
    """Undo one `hold_thread_state` on this thread (nothing if it holds none); at the last one QuickFIX's thread
    deletes its Python thread state when the current callback returns, as before."""
    sessions = getattr(_held, "sessions", 0)
    if sessions == 0:
        return
    _held.sessions = sessions - 1
    if sessions == 1:
        state, _held.state = _held.state, None
        _gil_state_release(state)


def guard_callback(callback: Callable[P, R]) -> Callable[P, R | None]:
    """Decorate a quickfix.Application callback so only QuickFIX's own exceptions reach C++.

    Anything else is logged (event "quickfix_callback_failed" with the callback and session) and
    swallowed, returning None: an exception escaping into QuickFIX's C++ threads prints a trace and
    hangs the process instead of failing one message.

    `onLogon` also holds the session thread's Python thread state and `onLogout` releases it (see
    `hold_thread_state`): from logon to logout QuickFIX's callbacks on that thread cost a GIL acquisition, not
    a thread state each. Held from logon only, so connections that never log on (scans, rejected logons)
    cannot pin one each. A session whose logout callback runs on another thread than its logon - QuickFIX's TLS
    initiator when stopped with sessions logged on, a session reset from another thread - leaves its thread's
    state (a few KiB, with its thread-locals and context variables) until the process exits: once per such
    stop, never per message. Thread-locals and context variables set in a callback last from logon to logout
    on that thread: bind nothing per message there.
    """
    holds, releases = callback.__name__ == "onLogon", callback.__name__ == "onLogout"

    @functools.wraps(callback)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | None:
        if holds:
            hold_thread_state()
        try:
            return callback(*args, **kwargs)
        except QUICKFIX_EXCEPTIONS:
            raise
        except BaseException as error:  # nothing else may cross into C++
            _log_callback_failure(callback, args, error)
            return None
        finally:
            if releases:
                release_thread_state()

    return guarded


class QuietApplication(qf.Application):  # type: ignore[misc]
    """A QuickFIX application whose every callback is a guarded no-op (`guard_callback`, so `onLogon`/`onLogout`
    also hold and release the session thread's Python state). Subclass it and define only the callbacks that do
    something, each decorated with `guard_callback` too."""

    @guard_callback
    def onCreate(self, session_id: qf.SessionID) -> None:
        return None

    @guard_callback
    def onLogon(self, session_id: qf.SessionID) -> None:
        return None

    @guard_callback
    def onLogout(self, session_id: qf.SessionID) -> None:
        return None

    @guard_callback
    def toAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        return None

    @guard_callback
    def fromAdmin(self, message: qf.Message, session_id: qf.SessionID) -> None:
        return None

    send_gate: Callable[[], bool] | None = None
    """HA: while this returns False no application message leaves (the node was fenced: fixgw/ha/node.py)."""

    @guard_callback
    def toApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        self.check_send_gate()

    def check_send_gate(self) -> None:
        """Raise DoNotSend when the send gate is shut (call first in every toApp)."""
        gate = self.send_gate
        if gate is not None and not gate():
            raise qf.DoNotSend()

    @guard_callback
    def fromApp(self, message: qf.Message, session_id: qf.SessionID) -> None:
        return None


def _log_callback_failure(callback: Callable[..., object], args: tuple[object, ...], error: BaseException) -> None:
    try:
        session = next((str(arg) for arg in args if isinstance(arg, qf.SessionID)), None)
        log.error(
            "quickfix_callback_failed",
            callback=getattr(callback, "__qualname__", repr(callback)),
            session=session,
            error=repr(error),
            exc_info=error,
        )
    except BaseException:  # a broken logger must not take the session down either
        pass


def keep_alive(engine: E, *parts: object) -> E:
    """Tie the Python objects a QuickFIX acceptor/initiator uses to its lifetime, and return it.

    QuickFIX keeps plain C++ references to its Application, MessageStoreFactory and LogFactory: when their
    Python proxies are garbage-collected while it runs, it calls into freed memory (a segfault at the next
    callback or at stop). The parts are released only after the engine itself is destroyed.
    """
    engine._fixgw_parts = parts  # type: ignore[attr-defined]
    return engine
