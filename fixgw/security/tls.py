"""QuickFIX TLS settings from fixgw's TLS configuration (QuickFIX 1.16 names; they go in the DEFAULT section).

QuickFIX reads TLS settings once per acceptor/initiator from its DEFAULT section, so one acceptor serves every
EMS session with one TLS setup, and each TLS broker gets an initiator of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

PROTOCOLS = {"TLSv1.2": "-all +TLSv1_2 +TLSv1_3", "TLSv1.3": "-all +TLSv1_3"}
"""min_version -> QuickFIX SSLProtocol."""

VERIFY_REQUIRE = "1"
VERIFY_NONE = "0"


class TlsSettings(Protocol):
    @property
    def certificate(self) -> Path | None: ...
    @property
    def private_key(self) -> Path | None: ...
    @property
    def ca_certificates(self) -> Path | None: ...
    @property
    def verify_peer(self) -> bool: ...
    @property
    def min_version(self) -> str: ...
    @property
    def ciphers(self) -> str | None: ...
    @property
    def crl_file(self) -> Path | None: ...


def _common(tls: TlsSettings) -> dict[str, str]:
    values = {"SSLProtocol": PROTOCOLS[tls.min_version]}
    if tls.ciphers:
        values["SSLCipherSuite"] = tls.ciphers
    if tls.crl_file is not None:
        values["CertificateRevocationListFile"] = str(tls.crl_file)
    return values


def acceptor_tls_settings(tls: TlsSettings) -> dict[str, str]:
    """Server certificate and key; with verify_peer, a client certificate from the CA is required (mutual TLS)."""
    if tls.certificate is None or tls.private_key is None:
        raise ValueError("a TLS acceptor needs certificate and private_key")
    values = {"ServerCertificateFile": str(tls.certificate), "ServerCertificateKeyFile": str(tls.private_key),
              **_common(tls)}
    if tls.ca_certificates is not None:
        values["CertificationAuthoritiesFile"] = str(tls.ca_certificates)
    values["CertificateVerifyLevel"] = VERIFY_REQUIRE if tls.verify_peer else VERIFY_NONE
    return values


def initiator_tls_settings(tls: TlsSettings) -> dict[str, str]:
    """With verify_peer the broker's certificate must chain to ca_certificates; a client certificate is
    presented when given (mutual TLS)."""
    values = _common(tls)
    if tls.certificate is not None:
        values["ClientCertificateFile"] = str(tls.certificate)
    if tls.private_key is not None:
        values["ClientCertificateKeyFile"] = str(tls.private_key)
    if tls.verify_peer and tls.ca_certificates is not None:
        values["CertificationAuthoritiesFile"] = str(tls.ca_certificates)
    return values


def tls_file_problems(tls: TlsSettings, key: str) -> list[tuple[str, str]]:
    """(config key, reason) for every TLS file that cannot be read."""
    problems = []
    for name in ("certificate", "private_key", "ca_certificates", "crl_file"):
        path = getattr(tls, name)
        if path is None:
            continue
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            problems.append((f"{key}.{name}", f"cannot read {path}: {exc.strerror}"))
    return problems
