"""QuickFIX side of session security: TLS acceptor/initiator choice, Logon credentials, the store guard."""

from __future__ import annotations

import quickfix as qf
import structlog

from fixgw.engine.quickfix_support import keep_alive

log = structlog.get_logger("fixgw.engine.security")

TLS_UNAVAILABLE = ("TLS is configured but this quickfix build has no TLS support (built without HAVE_SSL): "
                   "install a quickfix wheel built with TLS, see README.md 'TLS'")


class TlsUnavailableError(RuntimeError):
    pass


def tls_available() -> bool:
    """True when quickfix was built with HAVE_SSL (a plain `pip install quickfix` is not)."""
    return hasattr(qf, "SSLSocketAcceptor") and hasattr(qf, "SSLSocketInitiator")


def require_tls() -> None:
    if not tls_available():
        raise TlsUnavailableError(TLS_UNAVAILABLE)


def new_acceptor(application: qf.Application, settings: qf.SessionSettings, log_factory: qf.LogFactory,
                 *, tls: bool) -> qf.Acceptor:
    """ThreadedSocketAcceptor, or SSLSocketAcceptor (the only TLS acceptor QuickFIX's Python wrapper has).

    Not the single-threaded SocketAcceptor: it crashes on stop (it closes its listening socket from the stopping
    thread while its own thread still uses it; a start-stop loop here segfaulted within 2 to 12 stops). The
    threaded one has a flaw of its own in QuickFIX 1.16: see `quickfix_patched`.
    """
    store = qf.FileStoreFactory(settings)
    warn_unpatched_acceptor(tls=tls)
    if tls:
        require_tls()
        return keep_alive(qf.SSLSocketAcceptor(application, store, settings, log_factory), application, store,
                          log_factory)
    if not quickfix_patched():
        log.warning("security.quickfix_unpatched", text=QUICKFIX_UNPATCHED)
    return keep_alive(qf.ThreadedSocketAcceptor(application, store, settings, log_factory), application, store,
                      log_factory)


QUICKFIX_PATCHES = frozenset({"lookup-session-invalid-message", "threaded-acceptor-refusal"})
QUICKFIX_UNPATCHED = ("this quickfix build lacks fixgw's patches: one malformed first frame on a plain-TCP EMS "
                      "connection (a header field without '=') ends the whole process (QuickFIX 1.16 lets "
                      "InvalidMessage escape its acceptor thread); build quickfix with scripts/build-quickfix-wheel, "
                      "or put the EMS acceptor behind TLS (immune), see SECURITY.md")


def quickfix_patched() -> bool:
    """True when quickfix was built with fixgw's patches (patches/quickfix/, scripts/build-quickfix-wheel)."""
    built_with: frozenset[str] = getattr(qf, "FIXGW_PATCHES", frozenset())
    return built_with >= QUICKFIX_PATCHES


WILDCARD_HOSTS = frozenset({"0.0.0.0", ""})


class UnboundHostError(RuntimeError):
    """This quickfix build would listen on every address instead of the configured host."""


def quickfix_has(patch: str) -> bool:
    """True when quickfix was built with fixgw's patch `patch` (patches/quickfix/, quickfix.FIXGW_PATCHES)."""
    return patch in getattr(qf, "FIXGW_PATCHES", frozenset())


def unbindable_host(host: str) -> str | None:
    """Why an acceptor cannot listen on `host` alone, or None: stock QuickFIX 1.16 ignores SocketAcceptHost."""
    if host in WILDCARD_HOSTS or quickfix_has("accept-host"):
        return None
    return ("this quickfix build cannot bind an acceptor to one address (it listens on 0.0.0.0, every "
            "interface): build quickfix with scripts/build-quickfix-wheel, or set the host to \"0.0.0.0\" to "
            "listen on every interface knowingly (SECURITY.md, \"QuickFIX\")")


def require_bindable_host(key: str, host: str) -> None:
    if (reason := unbindable_host(host)) is not None:
        raise UnboundHostError(f"{key} = {host!r}: {reason}")


def warn_unpatched_acceptor(*, tls: bool) -> None:
    """Loud start-up warnings for what a quickfix build without fixgw's later patches leaves open."""
    if not quickfix_has("acceptor-logon-timeout"):
        log.warning("security.quickfix_unpatched", text="this quickfix build never closes a connection that does "
                    "not log on (acceptor.logon_timeout_s has no effect): build quickfix with "
                    "scripts/build-quickfix-wheel (SECURITY.md)")
    if tls and not quickfix_has("ssl-messages-to-log"):
        log.warning("security.quickfix_unpatched", text="this quickfix build prints TLS certificate checks to "
                    "stdout and stderr (outside the JSON log): build quickfix with scripts/build-quickfix-wheel")


def new_initiator(application: qf.Application, settings: qf.SessionSettings, log_factory: qf.LogFactory,
                  *, tls: bool) -> qf.Initiator:
    store = qf.FileStoreFactory(settings)
    if tls:
        require_tls()
        return keep_alive(qf.SSLSocketInitiator(application, store, settings, log_factory), application, store,
                          log_factory)
    return keep_alive(qf.ThreadedSocketInitiator(application, store, settings, log_factory), application, store,
                      log_factory)


def logon_credentials(message: qf.Message) -> tuple[str | None, str | None]:
    """Username(553) and Password(554) of a Logon, None where absent."""
    username = message.getField(553) if message.isSetField(553) else None
    password = message.getField(554) if message.isSetField(554) else None
    return username, password


class LogonStoreGuard:
    """Keeps an outgoing Logon that carries a password out of QuickFIX's FileStore.

    QuickFIX persists every message it sends, the Logon with Password(554) included, and a resend never uses a
    stored Logon (admin messages are gap-filled). Call `before_send` from toAdmin (after the credentials are set)
    and toApp: persistence is off for the Logon and back on for the next message of the session, before QuickFIX
    stores that one.
    """

    def __init__(self) -> None:
        self._paused: set[str] = set()

    def before_send(self, message: qf.Message, session_id: qf.SessionID) -> None:
        key = session_id.toString()
        is_secret_logon = message.getHeader().getField(35) == "A" and message.isSetField(554)
        if not is_secret_logon and key not in self._paused:
            return
        session = qf.Session.lookupSession(session_id)
        if session is None:
            return
        session.setPersistMessages(not is_secret_logon)
        if is_secret_logon:
            self._paused.add(key)
        else:
            self._paused.discard(key)
