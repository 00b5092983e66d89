"""`fixgw check-config` checks of the security settings: TLS support and files, password hashes, listen hosts."""

from __future__ import annotations

from fixgw.config import GatewayConfig
from fixgw.security.passwords import is_password_hash
from fixgw.security.tls import tls_file_problems

Problem = tuple[str, str]


def security_problems(config: GatewayConfig) -> list[Problem]:
    problems: list[Problem] = []
    for name, ems in config.ems.items():
        if ems.password_hash is not None and not is_password_hash(ems.password_hash.get_secret_value()):
            problems.append((f"ems.{name}.password_hash",
                             "the secret is not an Argon2 hash (make one with `fixgw hash-password`)"))
    tls_sections = [("acceptor.tls", config.acceptor.tls)]
    tls_sections += [(f"brokers.{name}.tls", broker.tls) for name, broker in config.brokers.items()]
    configured = [(key, tls) for key, tls in tls_sections if tls is not None]
    for key, tls in configured:
        problems.extend(tls_file_problems(tls, key))
    if configured:
        from fixgw.engine.security import TLS_UNAVAILABLE, tls_available  # imports quickfix: only when needed

        if not tls_available():
            problems.extend((key, TLS_UNAVAILABLE) for key, _ in configured)
    hosts = [("acceptor.host", config.acceptor.host)] if config.ems else []
    hosts += [(f"dropcopy.{name}.host", section.host) for name, section in config.dropcopy.items()]
    if hosts:
        from fixgw.engine.security import unbindable_host  # imports quickfix: only when needed

        problems.extend((key, reason) for key, host in hosts if (reason := unbindable_host(host)) is not None)
    return problems
