"""The loopback gateway stack with security configured: EMS credentials, entitlements, address allow-lists."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway_stack import WAIT, EmsSpec, Stack

from fixgw.config import parse_config
from fixgw.engine.gateway import Gateway
from fixgw.security.passwords import hash_password
from fixgw.sim.fix_client import FixClient

PASSWORDS = {"ems-a": "alice-pw-7Hq2", "ems-b": "bob-pw-3Lm9", "ems-x": "xavier-pw-5Rt1"}
USERNAMES = {"ems-a": "alice", "ems-b": "bob", "ems-x": "xavier"}


@functools.cache
def password_hash(session: str) -> str:
    return hash_password(PASSWORDS[session])


def ems_sections() -> dict[str, dict[str, Any]]:
    """ems-a/ems-b log on in every stack; ems-x (credentials) and ems-c (an address we never have) are for
    refused logons. Hashes are given through secret references (env:), as in production."""
    return {
        "ems-a": {"begin_string": "FIX.4.4", "target_comp_id": "EMS-A", "allowed_accounts": ["ACC1"],
                  "allowed_instruments": ["AAPL", "SPY"], "allowed_ord_types": ["1", "2"],
                  "username": USERNAMES["ems-a"], "password_hash": "env:FIXGW_TEST_HASH_EMS_A",
                  "allowed_addresses": ["127.0.0.1"]},
        "ems-b": {"begin_string": "FIX.4.2", "target_comp_id": "EMS-B", "allowed_accounts": ["ACC1", "ACC2"],
                  "username": USERNAMES["ems-b"], "password_hash": "env:FIXGW_TEST_HASH_EMS_B"},
        "ems-x": {"begin_string": "FIX.4.4", "target_comp_id": "EMS-X", "username": USERNAMES["ems-x"],
                  "password_hash": "env:FIXGW_TEST_HASH_EMS_X"},
        "ems-c": {"begin_string": "FIX.4.4", "target_comp_id": "EMS-C", "allowed_addresses": ["10.11.12.13"]},
    }


def set_hash_env(monkeypatch: Any) -> None:
    for session in PASSWORDS:
        monkeypatch.setenv(f"FIXGW_TEST_HASH_{session.upper().replace('-', '_')}", password_hash(session))


class SecureStack(Stack):
    """Stack whose gateway config is rebuilt with the security sections; clients log on with credentials."""

    def __init__(self, tmp: Path, *, acceptor: dict[str, Any] | None = None, broker: dict[str, Any] | None = None,
                 ems: dict[str, dict[str, Any]] | None = None, clients: tuple[str, ...] = ("ems-a", "ems-b"),
                 extra: dict[str, Any] | None = None, **kwargs: Any) -> None:
        sections = ems or ems_sections()
        specs = [EmsSpec(name, sections[name]["target_comp_id"], sections[name]["begin_string"]) for name in clients]
        super().__init__(tmp, ems=specs, **kwargs)
        self.ems_specs = specs  # Stack reads an empty list as "the default EMS clients"
        data: dict[str, Any] = {
            "name": "secure-gw", "state_dir": str(tmp / "gw"),
            "acceptor": {"port": self.acceptor_port, "quickfix": {"HeartBtInt": 30}, **(acceptor or {})},
            "ems": sections,
            "brokers": {"equities": {"begin_string": "FIX.4.2", "target_comp_id": "BROKER", "port": self.broker_port,
                                     "dialect": "fix42-broker", "quickfix": {"ReconnectInterval": 1},
                                     **(broker or {})}},
            "routing": {"default": "equities"},
            **(extra or {}),
        }
        self.config = parse_config(data)
        self.gateway = Gateway(self.config)
        self.client_options: dict[str, dict[str, Any]] = {}

    def client(self, spec: EmsSpec) -> FixClient:
        client = FixClient(port=self.acceptor_port, begin_string=spec.begin_string, sender_comp_id=spec.comp_id,
                           target_comp_id="FIXGW", store_dir=self.tmp / f"client-{spec.name}",
                           username=USERNAMES.get(spec.name), password=PASSWORDS.get(spec.name),
                           **self.client_options.get(spec.name, {}))
        self.clients[spec.name] = client
        return client


def attempt_logon(port: int, comp_id: str, *, begin_string: str = "FIX.4.4", username: str | None = None,
                  password: str | None = None, expect_logout: bool = True, timeout: float = WAIT,
                  **options: Any) -> FixClient:
    """Start a client, wait for the gateway's Logout (or, expect_logout False, a few reconnect cycles), stop it."""
    client = FixClient(port=port, begin_string=begin_string, sender_comp_id=comp_id, target_comp_id="FIXGW",
                       username=username, password=password, **options)
    client.start()
    try:
        if expect_logout:
            client.wait_for(lambda m: m.msg_type == "5", timeout)
        else:
            assert not client.wait_logged_on(2.5), f"{comp_id} logged on but should not"
    finally:
        client.stop()
    return client


@contextmanager
def secure_stack(tmp: Path, **kwargs: Any) -> Iterator[SecureStack]:
    stack = SecureStack(tmp, **kwargs)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()
