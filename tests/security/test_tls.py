"""TLS for FIX sessions (QuickFIX built with HAVE_SSL): mutual TLS on the EMS acceptor and to a broker.

Certificates are made per test (tests/security/certs.py). With a quickfix built without TLS the TLS sessions
are skipped; the clear refusal to start with TLS configured is tested either way."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from certs import CertPair, Pki, make_pki
from gateway_stack import WAIT, new_order, report, status
from secure_stack import SecureStack, attempt_logon, set_hash_env
from tls_peer import TlsBrokerPeer

from fixgw.cli import main
from fixgw.config import ConfigError, parse_config
from fixgw.configcheck import deep_check
from fixgw.engine import security as engine_security
from fixgw.engine.gateway import Gateway
from fixgw.engine.quickfix_support import free_port
from fixgw.engine.security import TLS_UNAVAILABLE, TlsUnavailableError, tls_available
from fixgw.security import auth

needs_tls = pytest.mark.skipif(not tls_available(), reason="this quickfix build has no TLS (HAVE_SSL off): "
                                                           "see README.md 'TLS' to build the TLS wheel")


def _ems() -> dict[str, dict[str, Any]]:
    """ems-t trades; ems-u takes the refused attempts (one process may not hold two clients of one session)."""
    return {name: {"begin_string": "FIX.4.4", "target_comp_id": comp_id, "allowed_accounts": ["ACC1"]}
            for name, comp_id in (("ems-t", "EMS-T"), ("ems-u", "EMS-U"))}


def _acceptor_tls(pki: Pki) -> dict[str, Any]:
    return {"tls": {"certificate": str(pki.server.certificate), "private_key": str(pki.server.private_key),
                    "ca_certificates": str(pki.ca), "verify_peer": True}}


def _client_tls(pki: Pki, pair: CertPair | None) -> dict[str, Any]:
    settings = {"CertificationAuthoritiesFile": str(pki.ca), "SSLProtocol": "-all +TLSv1_2 +TLSv1_3"}
    if pair is not None:
        settings |= {"ClientCertificateFile": str(pair.certificate), "ClientCertificateKeyFile": str(pair.private_key)}
    return {"tls": True, "extra_settings": settings}


@needs_tls
def test_mutual_tls_logon_trades_and_untrusted_certificates_are_refused(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    stack = SecureStack(tmp_path, acceptor=_acceptor_tls(pki), ems=_ems(), clients=("ems-t",))
    stack.client_options["ems-t"] = _client_tls(pki, pki.client)
    try:
        stack.start()  # the EMS logs on over TLS with a certificate from the trusted CA
        ems = stack.ems("ems-t")
        ems.send(new_order("TLS-1"))
        report(ems, "TLS-1", status("2"))
        with structlog.testing.capture_logs() as logs:
            rogue = attempt_logon(stack.acceptor_port, "EMS-U", expect_logout=False,
                                  **_client_tls(pki, pki.rogue_client))
            anonymous = attempt_logon(stack.acceptor_port, "EMS-U", expect_logout=False, **_client_tls(pki, None))
        assert rogue.logon_count == 0 and anonymous.logon_count == 0
        texts = [entry.get("text", "") for entry in logs if entry["event"] == "quickfix.event"]
        assert "SSL failure reason: certificate verify failed" in texts
        assert any(text.startswith("Failed to accept SSL connection from 127.0.0.1") for text in texts)
        # The trusted session was never disturbed.
        assert ems.logon_count == 1 and "ems-t" in stack.gateway.ems_logged_on()
    finally:
        stack.close()


@needs_tls
def test_plain_tcp_to_the_tls_acceptor_never_logs_on(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    stack = SecureStack(tmp_path, acceptor=_acceptor_tls(pki), ems=_ems(), clients=())
    try:
        stack.start()
        assert attempt_logon(stack.acceptor_port, "EMS-T", expect_logout=False).logon_count == 0
    finally:
        stack.close()


def _broker_tls(pki: Pki) -> dict[str, Any]:
    return {"tls": {"certificate": str(pki.client.certificate), "private_key": str(pki.client.private_key),
                    "ca_certificates": str(pki.ca), "verify_peer": True}}


def _tls_broker_gateway(tmp_path: Path, pki: Pki, port: int) -> Gateway:
    config = parse_config({
        "name": "tls-gw", "state_dir": str(tmp_path / "gw"),
        "brokers": {"secure": {"begin_string": "FIX.4.4", "target_comp_id": "BROKER", "port": port,
                               "quickfix": {"ReconnectInterval": 1}, **_broker_tls(pki)}},
        "routing": {"default": "secure"}})
    return Gateway(config)


@needs_tls
@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-broker", "untrusted-broker"])
def test_tls_to_a_broker_verifies_its_certificate(tmp_path: Path, trusted: bool) -> None:
    pki = make_pki(tmp_path / "pki")
    port = free_port()
    server = pki.server if trusted else pki.rogue_client  # the rogue pair chains to a CA we do not trust
    gateway = _tls_broker_gateway(tmp_path, pki, port)
    with TlsBrokerPeer(port, server.certificate, server.private_key, pki.ca) as peer:
        gateway.start()
        try:
            if trusted:
                assert peer.wait_logons(1, WAIT), "the gateway did not log on to the TLS broker"
                assert SecureStack.wait(None, lambda: gateway.venues_connected()["secure"])  # type: ignore[arg-type]
            else:
                assert not peer.wait_logons(1, 3.0), "the gateway logged on to a broker with an untrusted certificate"
                assert not gateway.venues_connected()["secure"]
        finally:
            gateway.stop()


def test_tls_configured_but_unavailable_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    pki = make_pki(tmp_path / "pki")
    monkeypatch.setattr(engine_security, "tls_available", lambda: False)
    gateway = _tls_broker_gateway(tmp_path, pki, free_port())
    with pytest.raises(TlsUnavailableError, match="no TLS support"):
        gateway.start()
    gateway.stop()
    assert not (tmp_path / "gw").exists()  # refused before anything was opened
    assert ("brokers.secure.tls", TLS_UNAVAILABLE) in deep_check(gateway.config)
    config_file = tmp_path / "gw.toml"
    config_file.write_text("""
state_dir = "state"
[acceptor.tls]
certificate = "pki/server.crt"
private_key = "pki/server.key"
ca_certificates = "pki/ca.crt"
[ems.t]
target_comp_id = "EMS-T"
""")
    capsys.readouterr()
    assert main(["check-config", str(config_file)]) == 1
    printed = " ".join(capsys.readouterr().out.split())
    assert "acceptor.tls: TLS is configured but this quickfix build has no TLS support" in printed


def test_tls_config_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_hash_env(monkeypatch)
    base: dict[str, Any] = {"state_dir": str(tmp_path), "ems": {"e": {"target_comp_id": "E"}}}
    with pytest.raises(ConfigError) as error:
        parse_config({**base, "acceptor": {"tls": {"certificate": "/c.pem"}}})
    assert any("certificate and private_key together" in reason for _, reason in error.value.problems)
    with pytest.raises(ConfigError) as error:
        parse_config({**base, "acceptor": {"tls": {"certificate": "/c", "private_key": "/k"}}})
    assert ("acceptor.tls", "verify_peer needs ca_certificates") in error.value.problems
    with pytest.raises(ConfigError) as error:
        parse_config({**base, "acceptor": {"tls": {"certificate": "/c", "private_key": "/k", "ca_certificates": "/a"}},
                      "ems": {"e": {"target_comp_id": "E", "allowed_addresses": ["10.0.0.1"]}}})
    assert error.value.problems[0][0] == "ems.e.allowed_addresses"
    with pytest.raises(ConfigError) as error:
        parse_config({**base, "ems": {"e": {"target_comp_id": "E", "allowed_addresses": ["not-an-ip"]}}})
    assert error.value.problems[0][0].startswith("ems.e.allowed_addresses")
    # `cred:` names a systemd credential file; relative paths in a config file are relative to the file.
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    config = parse_config({**base, "brokers": {"b": {"target_comp_id": "B", "port": 1, "tls": {
        "certificate": "certs/client.crt", "private_key": "cred:tls.key", "verify_peer": False}}}},
        base_dir=tmp_path / "etc")
    tls = config.brokers["b"].tls
    assert tls is not None
    assert tls.certificate == tmp_path / "etc" / "certs" / "client.crt"
    assert tls.private_key == tmp_path / "creds" / "tls.key"
    problems = deep_check(config)
    assert ("brokers.b.tls.certificate", f"cannot read {tmp_path / 'etc' / 'certs' / 'client.crt'}: "
                                         "No such file or directory") in problems


def _tls_attempt(port: int, pki: Pki, pair: CertPair | None, version: ssl.TLSVersion | None = None, *,
                 leave: bool = False) -> bool:
    """One TLS connection to the acceptor that never logs on; True when the server closed it (alert or EOF), or
    with `leave` when the handshake completed (the client then closes at once)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(pki.ca)
    context.check_hostname = False
    if pair is not None:
        context.load_cert_chain(pair.certificate, pair.private_key)
    if version is not None:  # an old protocol, offered as a legacy client would
        context.minimum_version = context.maximum_version = version
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                return leave or tls.recv(1) == b""  # TLS 1.3: the verdict on our certificate comes after our handshake
        except (ssl.SSLError, ConnectionError):
            return True


@needs_tls
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1 is deprecated:DeprecationWarning")
def test_failed_tls_handshakes_are_security_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = make_pki(tmp_path / "pki")
    monkeypatch.setattr(auth, "EVENT_LOG_INTERVAL_S", 0.0)  # every event logged: each has its own reason here
    stack = SecureStack(tmp_path, acceptor=_acceptor_tls(pki), ems=_ems(), clients=())
    try:
        stack.start()
        security = stack.gateway.security
        with structlog.testing.capture_logs() as logs:
            def failures() -> list[dict[str, Any]]:
                return [entry for entry in logs if entry["event"] == "security.tls_handshake_failed"]

            for failed, (pair, version) in enumerate(
                    ((None, None), (pki.rogue_client, None), (pki.client, ssl.TLSVersion.TLSv1)), start=1):
                assert _tls_attempt(stack.acceptor_port, pki, pair, version)
                assert SecureStack.wait(None, lambda n=failed: len(failures()) == n), (  # type: ignore[arg-type]
                    f"handshake {failed} was no security event")
        assert security.snapshot()["tls_handshake_failed"] == 3
        assert [entry["address"] for entry in failures()] == ["127.0.0.1"] * 3
        reasons = [entry["reason"] for entry in failures()]
        # OpenSSL's words; the unknown CA's is its certificate check's, which only the patched build logs
        assert reasons == ["peer did not return a certificate", "unable to get local issuer certificate",
                           "unsupported protocol"]
    finally:
        stack.close()


@needs_tls
def test_a_tls_connection_without_a_logon_is_closed(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    stack = SecureStack(tmp_path, acceptor={**_acceptor_tls(pki), "logon_timeout_s": 1}, ems=_ems(), clients=())
    try:
        stack.start()
        with structlog.testing.capture_logs() as logs:
            assert _tls_attempt(stack.acceptor_port, pki, pki.client)  # a trusted certificate, then silence
        assert [entry["address"] for entry in logs if entry["event"] == "security.logon_timeout"] == ["127.0.0.1"]
    finally:
        stack.close()


def _json_lines(path: Path, *, strict: bool = True) -> list[dict[str, Any]]:
    """Every line as JSON (strict: json.loads raises on any other line), or only the lines that are."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            if strict:
                raise
    return found


@needs_tls
def test_fixgw_run_output_stays_json_lines_through_failed_handshakes(tmp_path: Path) -> None:
    """OpenSSL's certificate checks and read errors, printed by stock QuickFIX, must not break the JSON log."""
    pki = make_pki(tmp_path / "pki")
    port = free_port()
    config = tmp_path / "fixgw.toml"
    config.write_text(f"""
name = "tls-json"
state_dir = "{tmp_path / 'gw'}"
[log]
format = "json"
[acceptor]
port = {port}
logon_timeout_s = 1
[acceptor.tls]
certificate = "{pki.server.certificate}"
private_key = "{pki.server.private_key}"
ca_certificates = "{pki.ca}"
[ems.ems-t]
target_comp_id = "EMS-T"
""", encoding="utf-8")
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"

    def logged(condition: Callable[[dict[str, Any]], bool]) -> bool:
        return SecureStack.wait(None, lambda: any(  # type: ignore[arg-type]
            condition(entry) for entry in _json_lines(stderr, strict=False)) or process.poll() is not None)

    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "fixgw", "run", "--config", str(config)],
                                   stdout=out, stderr=err, cwd=tmp_path)
    try:
        assert logged(lambda entry: entry["event"] == "gateway.started")
        assert process.poll() is None, stderr.read_text()
        assert _tls_attempt(port, pki, pki.client, leave=True)  # closed unannounced: QuickFIX's "SSL read error"
        assert logged(lambda entry: entry.get("text", "").startswith("SSL read error"))
        for pair in (None, pki.rogue_client, pki.client):  # the trusted one completes the handshake, then waits
            assert _tls_attempt(port, pki, pair)
        assert logged(lambda entry: entry["event"] == "security.logon_timeout")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(WAIT)
    lines = _json_lines(stdout) + _json_lines(stderr)  # each line a JSON object, or json.loads raised
    assert all(isinstance(entry, dict) and "event" in entry for entry in lines)
    events = [entry["event"] for entry in lines]
    assert "security.tls_handshake_failed" in events and "gateway.stopped" in events
    assert any(entry.get("text", "").startswith("Certificate Verification: Error") for entry in lines)
