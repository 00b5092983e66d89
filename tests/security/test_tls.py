"""TLS for FIX sessions (QuickFIX built with HAVE_SSL): mutual TLS on the EMS acceptor and to a broker.

Certificates are made per test (tests/security/certs.py). With a quickfix built without TLS the TLS sessions
are skipped; the clear refusal to start with TLS configured is tested either way."""

from __future__ import annotations

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
