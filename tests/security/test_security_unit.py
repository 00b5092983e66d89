"""Sans-I/O pieces of session security: hashes, lockout, the authenticator, masking, TLS settings, QuickFIX
log parsing, session settings and the hash-password command."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import structlog

from fixgw.cli import main
from fixgw.config import TlsConfig, parse_config
from fixgw.engine.qflog import StructlogLogFactory
from fixgw.engine.sessions import acceptor_settings
from fixgw.ops.live import LiveCollector
from fixgw.security import auth
from fixgw.security.auth import ADDRESS_NOT_ALLOWED, BAD_CREDENTIALS, LogonAuthenticator, SessionCredentials
from fixgw.security.lockout import MAX_KEYS, LogonThrottle
from fixgw.security.masking import MASK, mask_secret_fields
from fixgw.security.passwords import hash_password, is_password_hash, verify_password
from fixgw.security.tls import acceptor_tls_settings, initiator_tls_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def stored_hash() -> str:
    return hash_password("correct horse")


def test_hashes_are_salted_and_verify(stored_hash: str) -> None:
    assert stored_hash.startswith("$argon2id$") and is_password_hash(stored_hash)
    assert hash_password("correct horse") != stored_hash  # salted
    assert verify_password(stored_hash, "correct horse")
    assert not verify_password(stored_hash, "correct horsE")
    assert not verify_password("not a hash", "correct horse")
    assert not is_password_hash("correct horse") and not is_password_hash("$argon2id$garbage")
    with pytest.raises(ValueError):
        hash_password("")


def test_lockout_doubles_up_to_the_cap_and_success_clears() -> None:
    clock = Clock()
    throttle = LogonThrottle(max_failures=3, base_seconds=2, max_seconds=10, clock=clock)
    assert [throttle.failure("k") for _ in range(2)] == [0.0, 0.0]
    assert throttle.locked_for("k") == 0
    assert [throttle.failure("k") for _ in range(4)] == [2, 4, 8, 10]
    assert throttle.locked_for("k") == 10
    clock.now += 10.5
    assert throttle.locked_for("k") == 0 and throttle.failures("k") == 6
    throttle.success("k")
    assert throttle.failures("k") == 0 and throttle.failure("k") == 0.0
    assert throttle.locked_for("other") == 0


def test_lockout_memory_is_bounded() -> None:
    throttle = LogonThrottle()
    for index in range(MAX_KEYS + 50):
        throttle.failure(f"address:{index}")
    assert throttle.failures("address:0") == 0 and throttle.failures(f"address:{MAX_KEYS + 49}") == 1


def test_authenticator_refuses_counts_and_locks(stored_hash: str) -> None:
    clock = Clock()
    auth = LogonAuthenticator(
        {"s": SessionCredentials("user", stored_hash, frozenset({"10.0.0.1"})), "open": SessionCredentials()},
        LogonThrottle(max_failures=3, base_seconds=30, clock=clock))
    auth.accepted("10.0.0.1")
    with structlog.testing.capture_logs() as logs:
        assert auth.check("s", "user", "correct horse") is None
        assert auth.check("s", "user", "wrong") == BAD_CREDENTIALS
        assert auth.check("s", "someone", "correct horse") == BAD_CREDENTIALS
        assert auth.check("s", "user", None) == BAD_CREDENTIALS
        locked = auth.check("s", "user", "correct horse")
    assert locked == "too many failed logons: try again in 31 s"
    assert all("correct horse" not in repr(entry) for entry in logs)
    assert [entry["event"] for entry in logs].count("security.logon_refused") == 4
    # The address is locked too: a session without credentials from there is refused while it lasts.
    assert auth.check("open", None, None) is not None
    auth.accepted("10.0.0.2")
    assert auth.check("open", None, None) is None
    assert auth.check("s", "user", "correct horse") == ADDRESS_NOT_ALLOWED
    clock.now += 31
    auth.accepted("10.0.0.1")
    assert auth.check("s", "user", "correct horse") is None
    assert auth.snapshot() == {"accepted": 3, "refused_credentials": 3, "refused_locked": 2, "refused_address": 1}


def test_authenticator_judges_the_address_quickfix_named_for_the_session() -> None:
    auth = LogonAuthenticator({"s": SessionCredentials(allowed_addresses=frozenset({"10.0.0.1"}))})
    assert auth.check("s", None, None) == ADDRESS_NOT_ALLOWED  # no address known: refused
    auth.accepted("10.0.0.1")  # another connection accepted meanwhile ...
    auth.connection("s", "10.6.6.6", admitted=False)  # ... but this session's own is from elsewhere
    assert auth.check("s", None, None) == ADDRESS_NOT_ALLOWED
    auth.connection("s", "10.0.0.1", admitted=True)
    assert auth.check("s", None, None) is None
    assert auth.refusals["address"] == 3  # two refused Logons and QuickFIX's denial


def test_secret_fields_are_masked_for_the_journal() -> None:
    plain = [(35, "D"), (11, "A")]
    assert mask_secret_fields(plain) is plain  # nothing to mask: no copy
    masked = mask_secret_fields([(35, "A"), (553, "u"), (554, "pw"), (925, "new"), (95, "2"), (96, "pw")])
    assert masked == [(35, "A"), (553, "u"), (554, MASK), (925, MASK), (95, "3"), (96, MASK)]


def test_tls_settings_use_quickfix_names(tmp_path: Path) -> None:
    tls = TlsConfig(certificate=tmp_path / "c", private_key=tmp_path / "k", ca_certificates=tmp_path / "ca",
                    min_version="TLSv1.3", ciphers="HIGH", crl_file=tmp_path / "crl")
    assert acceptor_tls_settings(tls) == {
        "ServerCertificateFile": str(tmp_path / "c"), "ServerCertificateKeyFile": str(tmp_path / "k"),
        "CertificationAuthoritiesFile": str(tmp_path / "ca"), "CertificateVerifyLevel": "1",
        "SSLProtocol": "-all +TLSv1_3", "SSLCipherSuite": "HIGH",
        "CertificateRevocationListFile": str(tmp_path / "crl")}
    one_way = TlsConfig(ca_certificates=tmp_path / "ca")
    assert initiator_tls_settings(one_way) == {"SSLProtocol": "-all +TLSv1_2 +TLSv1_3",
                                               "CertificationAuthoritiesFile": str(tmp_path / "ca")}
    unverified = TlsConfig(verify_peer=False, certificate=tmp_path / "c", private_key=tmp_path / "k")
    assert "CertificationAuthoritiesFile" not in initiator_tls_settings(unverified)
    assert initiator_tls_settings(unverified)["ClientCertificateFile"] == str(tmp_path / "c")


def test_allowed_addresses_become_the_quickfix_setting(tmp_path: Path) -> None:
    config = parse_config({"state_dir": str(tmp_path), "ems": {
        "e": {"target_comp_id": "E", "allowed_addresses": ["10.0.0.1", "10.0.0.2"]},
        "f": {"target_comp_id": "F"}}})
    settings = acceptor_settings(config)
    values = {session.getTargetCompID().getValue(): settings.get(session) for session in settings.getSessions()}
    assert values["E"].getString("AllowedRemoteAddresses") == "10.0.0.1,10.0.0.2"  # QuickFIX splits on "," only
    assert not values["F"].has("AllowedRemoteAddresses")


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def accepted(self, address: str) -> None:
        self.calls.append(("accepted", address))

    def connection(self, session: str, address: str, admitted: bool) -> None:
        self.calls.append(("connection", session, address, admitted))

    def unknown_session(self, sender_comp_id: str, target_comp_id: str, begin_string: str) -> None:
        self.calls.append(("unknown", sender_comp_id, target_comp_id, begin_string))

    def tls_handshake_failed(self, address: str, reason: str) -> None:
        self.calls.append(("tls_failed", address, reason))

    def logon_timeout(self, address: str) -> None:
        self.calls.append(("logon_timeout", address))


def test_quickfix_events_reach_structlog_masked_and_the_listener() -> None:
    listener = Listener()
    factory = StructlogLogFactory("acceptor", {}, listener, messages=True)
    session_log = factory.create()  # the acceptor's own (GLOBAL) log
    with structlog.testing.capture_logs() as logs:
        session_log.onEvent("Accepted connection from 10.1.2.3 on port 9878")
        session_log.onEvent("Accepted SSL connection from 10.1.2.4 on port 9878")
        session_log.onEvent("Session not found for incoming message: 8=FIX.4.4\x019=9\x0135=A\x0149=WHO\x01"
                            "56=FIXGW\x01554=hunter2\x0110=000\x01")
        session_log.onIncoming("8=FIX.4.4\x0135=A\x01554=hunter2\x01")
        session_log.onEvent("Deny connections to the acceptor from 10.9.9.9")
    assert listener.calls == [("accepted", "10.1.2.3"), ("accepted", "10.1.2.4"),
                              ("unknown", "WHO", "FIXGW", "FIX.4.4"), ("connection", "GLOBAL", "10.9.9.9", False)]
    assert "hunter2" not in repr(logs)
    assert logs[3] == {"event": "quickfix.message", "direction": "in", "raw": "8=FIX.4.4|35=A|554=***|",
                       "session": "GLOBAL", "role": "acceptor", "log_level": "debug"}
    assert logs[4]["log_level"] == "warning"


def test_failed_tls_handshakes_and_logon_timeouts_reach_the_listener_with_their_reason() -> None:
    """The events QuickFIX's TLS acceptor logs for one failed handshake, in order (patched build, fixgw2)."""
    listener = Listener()
    session_log = StructlogLogFactory("acceptor", {}, listener).create()
    for events in (
            ["Certificate Verification: depth: 0, subject: /CN=rogue, issuer: /CN=rogue CA",
             "Certificate Verification: Error (20): unable to get local issuer certificate",
             "SSL handshake failed", "SSL failure reason: certificate verify failed"],
            ["SSL handshake failed", "SSL failure reason: peer did not return a certificate"],
            ["SSL handshake failed: HTTP spoken on HTTPS port"],
            []):
        for text in events:
            session_log.onEvent(text)
        session_log.onEvent("Failed to accept SSL connection from 10.1.2.3 on port 9878")
    session_log.onEvent("Logon timeout: closed connection from 10.1.2.5")
    assert listener.calls == [("tls_failed", "10.1.2.3", "unable to get local issuer certificate"),
                              ("tls_failed", "10.1.2.3", "peer did not return a certificate"),
                              ("tls_failed", "10.1.2.3", "plain HTTP on the TLS port"),
                              ("tls_failed", "10.1.2.3", "unknown"),
                              ("logon_timeout", "10.1.2.5")]


def test_connection_events_are_counted_always_and_logged_once_per_address_and_interval(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    authenticator = LogonAuthenticator({})
    with structlog.testing.capture_logs() as logs:
        for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1"):
            authenticator.tls_handshake_failed(address, "certificate verify failed")
        authenticator.logon_timeout("10.0.0.1")
        clock[0] += auth.EVENT_LOG_INTERVAL_S
        authenticator.tls_handshake_failed("10.0.0.1", "unsupported protocol")
    assert authenticator.snapshot() == {"accepted": 0, "tls_handshake_failed": 5, "logon_timeout": 1}
    assert [(entry["event"], entry["address"], entry["suppressed"]) for entry in logs] == [
        ("security.tls_handshake_failed", "10.0.0.1", 0), ("security.tls_handshake_failed", "10.0.0.2", 0),
        ("security.logon_timeout", "10.0.0.1", 0), ("security.tls_handshake_failed", "10.0.0.1", 2)]
    assert all(entry["log_level"] == "warning" for entry in logs)


def test_security_events_are_a_metric() -> None:
    authenticator = LogonAuthenticator({})
    authenticator.logon_timeout("10.0.0.1")
    (family,) = LiveCollector._security(authenticator)
    assert family.name == "fixgw_security_events" and family.type == "counter"
    assert {sample.labels["event"]: sample.value for sample in family.samples if sample.name.endswith("_total")} \
        == {"accepted": 0, "logon_timeout": 1}


def test_hash_password_command(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret pass\n"))
    assert main(["hash-password"]) == 0
    printed = capsys.readouterr().out.strip()
    assert verify_password(printed, "s3cret pass") and "s3cret" not in printed
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["hash-password"]) == 1
