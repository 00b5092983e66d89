"""QuickFIX settings for the gateway's sessions, built from the typed configuration.

Operators' QuickFIX settings pass through untouched: `acceptor.quickfix` applies to every EMS session, each
session's `quickfix` table overrides it. Our defaults only fill what is left unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import quickfix as qf

from fixgw.config import BrokerSessionConfig, EmsSessionConfig, GatewayConfig, QuickfixValue, TlsConfig
from fixgw.engine.quickfix_support import (
    FIX50SP2_APPL_VER_ID,
    FIXT11,
    build_session_settings,
    data_dictionary_settings,
)
from fixgw.security.tls import acceptor_tls_settings, initiator_tls_settings


def _text(values: Mapping[str, QuickfixValue]) -> dict[str, str]:
    return {key: ("Y" if value else "N") if isinstance(value, bool) else str(value) for key, value in values.items()}


def _session_defaults(begin_string: str) -> dict[str, str]:
    values = {
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "HeartBtInt": "30",
        "ValidateUserDefinedFields": "N",
        "AllowUnknownMsgFields": "Y",
        **data_dictionary_settings(begin_string),
    }
    if begin_string == FIXT11:
        values["DefaultApplVerID"] = FIX50SP2_APPL_VER_ID
    return values


def session_id(begin_string: str, sender: str, target: str) -> qf.SessionID:
    return qf.SessionID(begin_string, sender, target)


def acceptor_settings(config: GatewayConfig) -> qf.SessionSettings:
    state = config.state_dir / "quickfix"
    default = {
        "ConnectionType": "acceptor",
        "SocketAcceptHost": config.acceptor.host,
        "SocketAcceptPort": str(config.acceptor.port),
        "LogonTimeout": str(config.acceptor.logon_timeout_s),  # DEFAULT: the acceptor closes silent connections
        "FileStorePath": str(state / "ems-store"),
        "FileLogPath": str(state / "ems-log"),
        "SocketReuseAddress": "Y",
        "SocketNodelay": "Y",  # no Nagle: a second report in a row would otherwise wait ~40 ms
        **(acceptor_tls_settings(config.acceptor.tls) if config.acceptor.tls else {}),
    }
    sessions = [_ems_session(ems, config.acceptor.quickfix) for ems in config.ems.values()]
    return build_session_settings(default, sessions)


def _ems_session(ems: EmsSessionConfig, shared: Mapping[str, QuickfixValue]) -> dict[str, str]:
    values = {
        **_session_defaults(ems.begin_string),
        **_text(shared),
        **_text(ems.quickfix),
        "BeginString": ems.begin_string,
        "SenderCompID": ems.sender_comp_id,
        "TargetCompID": ems.target_comp_id,
    }
    if ems.allowed_addresses:  # QuickFIX refuses other peers before the Logon is read (no spaces: it splits on ',')
        values["AllowedRemoteAddresses"] = ",".join(str(address) for address in ems.allowed_addresses)
    return values


def initiator_settings(config: GatewayConfig, brokers: Mapping[str, BrokerSessionConfig],
                       tls: TlsConfig | None = None) -> qf.SessionSettings:
    """Settings for one initiator; with `tls` (read by QuickFIX from the DEFAULT section) for that broker alone."""
    state = config.state_dir / "quickfix"
    default = {
        "ConnectionType": "initiator",
        "FileStorePath": str(state / "broker-store"),
        "FileLogPath": str(state / "broker-log"),
        "ReconnectInterval": "5",
        "SocketNodelay": "Y",
        **(initiator_tls_settings(tls) if tls else {}),
    }
    sessions = []
    for broker in brokers.values():
        session = {
            **_session_defaults(broker.begin_string),
            "SocketConnectHost": broker.host,
            "SocketConnectPort": str(broker.port),
            **_text(broker.quickfix),
            "BeginString": broker.begin_string,
            "SenderCompID": broker.sender_comp_id,
            "TargetCompID": broker.target_comp_id,
        }
        sessions.append(session)
    return build_session_settings(default, sessions)


def ensure_dirs(config: GatewayConfig) -> None:
    for sub in ("ems-store", "ems-log", "broker-store", "broker-log"):
        Path(config.state_dir / "quickfix" / sub).mkdir(parents=True, exist_ok=True)
