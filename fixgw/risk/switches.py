"""Kill switches, circuit breakers and venue ramps: what is in force per scope, and how it is persisted.

One journal state row per (kind, scope): key `risk.<kind>:<scope>`, value a JSON `Switch`. Rows are never
deleted: clearing writes `active: false` with who and why. Every writer (the CLI, a gateway tripping a
breaker, the admin API) writes the whole row; readers keep the newest by `at` (last writer wins), so the
gateway, the CLI and several gateways sharing one PostgreSQL journal converge on the same state.
Every change also journals an audit event under the pseudo order id `risk`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from fixgw.model.events import EventName
from fixgw.model.orders import utc_now
from fixgw.router.effects import OrderEventRecord

KILL, BREAKER, RAMP = "kill", "breaker", "ramp"
KINDS = (KILL, BREAKER, RAMP)
KEY_PREFIX = "risk."
AUDIT_ORDER_ID = "risk"
"""Audit events of risk controls are journaled as events of this pseudo order id (`iter_events(order_id=...)`)."""
SCOPE_KINDS = ("global", "venue", "account", "session", "instrument")
KILL_SCOPES = ("global", "venue", "account", "session")
_ALIASES = {"ems": "session", "ems_session": "session"}
_EVENTS = {(KILL, True): EventName.KILL_SET, (KILL, False): EventName.KILL_CLEARED,
           (BREAKER, True): EventName.BREAKER_TRIPPED, (BREAKER, False): EventName.BREAKER_RESET,
           (RAMP, True): EventName.RAMP_LIFTED, (RAMP, False): EventName.RAMP_RESTORED}
_MAX_KEY = 128

log = structlog.get_logger("fixgw.risk")


def parse_scope(text: str, allowed: Iterable[str] = SCOPE_KINDS) -> str:
    """Normalise `global`, `venue:NAME`, `account:NAME`, `session:NAME` (or `ems:NAME`), `instrument:ID`."""
    kind, sep, name = text.strip().partition(":")
    kind = _ALIASES.get(kind, kind)
    allowed = tuple(allowed)
    if kind not in allowed:
        names = ", ".join(k if k == "global" else f"{k}:NAME" for k in allowed)
        raise ValueError(f"scope {text!r}: expected one of {names}")
    if kind == "global":
        if sep:
            raise ValueError("scope 'global' takes no name")
        return "global"
    if not name.strip():
        raise ValueError(f"scope {text!r}: missing the name after '{kind}:'")
    scope = f"{kind}:{name.strip()}"
    if len(f"{KEY_PREFIX}{BREAKER}:{scope}") > _MAX_KEY:
        raise ValueError(f"scope {text!r} is too long")
    return scope


@dataclass(frozen=True, slots=True)
class Switch:
    """A kill switch (active = set), a circuit breaker (active = tripped) or a venue ramp (active = lifted)."""

    kind: str
    scope: str
    active: bool
    who: str
    reason: str
    at: datetime
    cancel_open: bool = False
    """Kill switches: also cancel every open order in scope (and any that opens while it is set)."""

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self.kind}:{self.scope}"

    @property
    def event(self) -> EventName:
        return _EVENTS[(self.kind, self.active)]

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "scope": self.scope, "active": self.active, "who": self.who,
                           "reason": self.reason, "at": self.at.isoformat(), "cancel_open": self.cancel_open},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Switch:
        data = json.loads(text)
        if data.get("kind") not in KINDS:
            raise ValueError(f"not a risk switch: {text[:80]!r}")
        return cls(kind=data["kind"], scope=parse_scope(data["scope"]), active=bool(data["active"]),
                   who=str(data.get("who", "")), reason=str(data.get("reason", "")),
                   at=datetime.fromisoformat(data["at"]), cancel_open=bool(data.get("cancel_open", False)))

    def audit(self) -> OrderEventRecord:
        """The journal event recording this change (who, why, scope)."""
        detail = {"scope": self.scope, "who": self.who, "reason": self.reason}
        if self.kind == KILL and self.active:
            detail["cancel_open"] = str(self.cancel_open).lower()
        return OrderEventRecord(AUDIT_ORDER_ID, self.event, "audit", self.at, detail)

    def describe(self) -> str:
        what = {KILL: "kill switch", BREAKER: "circuit breaker", RAMP: "venue ramp"}[self.kind]
        state = {KILL: ("set", "cleared"), BREAKER: ("tripped", "reset"), RAMP: ("lifted", "in force")}[self.kind]
        return (f"{what} {state[0] if self.active else state[1]} for {self.scope} by {self.who} "
                f"at {self.at.isoformat(timespec='seconds')}: {self.reason}")


def new_switch(kind: str, scope: str, active: bool, *, who: str, reason: str, cancel_open: bool = False,
               at: datetime | None = None) -> Switch:
    if kind not in KINDS:
        raise ValueError(f"unknown switch kind {kind!r}")
    if not who.strip() or not reason.strip():
        raise ValueError("who and reason are required (every change is audited)")
    allowed = KILL_SCOPES if kind == KILL else ("venue",) if kind == RAMP else SCOPE_KINDS
    return Switch(kind, parse_scope(scope, allowed), active, who.strip(), reason.strip(), at or utc_now(),
                  cancel_open and active and kind == KILL)


def supersede(switch: Switch, current: Switch | None) -> Switch:
    """`switch` dated after `current`: an operator's change always wins over the row it saw, even when this
    host's clock is behind the one that wrote that row (a breaker tripped by a gateway on another machine)."""
    if current is None or switch.at > current.at:
        return switch
    return replace(switch, at=current.at + timedelta(microseconds=1))


def switches_from_rows(rows: Mapping[str, str]) -> list[Switch]:
    """The switches among journal state rows (`Journal.state_with_prefix(KEY_PREFIX)`); other keys are skipped."""
    found = []
    for key, value in rows.items():
        if key.partition(":")[0].removeprefix(KEY_PREFIX) not in KINDS:
            continue
        try:
            found.append(Switch.from_json(value))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("risk.bad_switch_row", key=key, error=str(exc))  # written by hand? never fatal
    return found


class SwitchBoard:
    """The switches in force, indexed for the hot path (a dict lookup per scope, nothing when none is set)."""

    def __init__(self) -> None:
        self._all: dict[str, Switch] = {}
        self._kills: dict[str, Switch] = {}
        self._breakers: dict[str, Switch] = {}
        self._lifted: set[str] = set()

    def apply(self, switch: Switch) -> bool:
        """Take `switch` unless what we hold for its key is as new; True when something changed."""
        current = self._all.get(switch.key)
        if current is not None and (switch.at < current.at or switch == current):
            return False
        self._all[switch.key] = switch
        index = {KILL: self._kills, BREAKER: self._breakers}.get(switch.kind)
        if index is not None:
            if switch.active:
                index[switch.scope] = switch
            else:
                index.pop(switch.scope, None)
        elif switch.active:
            self._lifted.add(switch.scope)
        else:
            self._lifted.discard(switch.scope)
        return True

    def get(self, kind: str, scope: str) -> Switch | None:
        return self._all.get(f"{KEY_PREFIX}{kind}:{scope}")

    def kill_for(self, session: str, account: str | None, venue: str) -> Switch | None:
        kills = self._kills
        if not kills:
            return None
        return (kills.get("global") or kills.get(f"session:{session}") or kills.get(f"venue:{venue}")
                or (kills.get(f"account:{account}") if account is not None else None))

    def breaker_for(self, instrument_id: str, venue: str) -> Switch | None:
        breakers = self._breakers
        if not breakers:
            return None
        return breakers.get(f"instrument:{instrument_id}") or breakers.get(f"venue:{venue}")

    def is_tripped(self, scope: str) -> bool:
        return scope in self._breakers

    def ramp_lifted(self, venue: str) -> bool:
        return f"venue:{venue}" in self._lifted

    def kills(self) -> list[Switch]:
        return list(self._kills.values())

    def in_force(self) -> list[Switch]:
        """Active kill switches and tripped breakers, then lifted ramps."""
        return [*self._kills.values(), *self._breakers.values(),
                *(s for s in self._all.values() if s.kind == RAMP and s.active)]

    def all(self) -> list[Switch]:
        return sorted(self._all.values(), key=lambda s: s.key)
