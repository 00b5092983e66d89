"""check-config for `[dropcopy.<name>]` and `[retention]`: names, session ids and ports that fail only at start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fixgw.dropcopy.copies import DROPCOPY_SESSION

if TYPE_CHECKING:
    from fixgw.config import GatewayConfig

Problem = tuple[str, str]


def check_dropcopy(config: GatewayConfig) -> list[Problem]:
    problems: list[Problem] = []
    venues = set(config.brokers) | set(config.venues)
    for section in ("ems", "brokers", "venues"):
        if DROPCOPY_SESSION in getattr(config, section):
            problems.append((f"{section}.{DROPCOPY_SESSION}", f"{DROPCOPY_SESSION!r} is the journal's name for drop "
                                                              "copies: choose another session name"))
    ems_ids = {(s.begin_string, s.sender_comp_id, s.target_comp_id): name for name, s in config.ems.items()}
    seen: dict[tuple[str, str, str], str] = {}
    for name, session in config.dropcopy.items():
        key = f"dropcopy.{name}"
        session_id = (session.begin_string, session.sender_comp_id, session.target_comp_id)
        if session_id in ems_ids:
            problems.append((key, f"same BeginString and CompIDs as ems.{ems_ids[session_id]}"))
        elif session_id in seen:
            problems.append((key, f"same BeginString and CompIDs as dropcopy.{seen[session_id]}"))
        seen[session_id] = name
        if session.port == config.acceptor.port:
            problems.append((f"{key}.port", f"{session.port} is the EMS acceptor's port: drop copies have their own"))
        for venue in session.venues:
            if venue not in venues:
                problems.append((f"{key}.venues", f"unknown venue {venue!r} (known: {sorted(venues)})"))
        if any(str(k).lower() == "resetonlogon" and v in (True, "Y", "y") for k, v in session.quickfix.items()):
            problems.append((f"{key}.quickfix.ResetOnLogon", "would discard the copies stored while the client was "
                                                             "away (it can log on with ResetSeqNumFlag instead)"))
    return problems


def summary_lines(config: GatewayConfig) -> list[str]:
    lines = []
    for name, session in config.dropcopy.items():
        accounts = ", ".join(session.accounts) or "every account"
        venues = ", ".join(session.venues) or "every venue"
        lines.append(f"  drop copy {name}: {session.begin_string} {session.sender_comp_id}->{session.target_comp_id} "
                     f"on {session.host}:{session.port}, {accounts}, {venues}")
    days = config.retention.days
    lines.append(f"retention: {f'{days} day(s), reconciled-clean days only' if days else 'keep everything'}")
    return lines
