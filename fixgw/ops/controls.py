"""The small interface between operators (admin API, alerts) and the risk engine's kill switches and breakers.

The risk engine offers it as `gateway.risk` (fixgw/risk/control.py). Every method runs on the router thread
(inside `runner.call`), so it may change risk state and put journal rows and cancels into the pass's
`Effects`. Without risk controls the admin API answers 501 for them and the rest of ops carries on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from fixgw.router.effects import Effects


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    scope: str
    """"global", "venue", "account" or "ems_session"."""
    target: str | None
    """The venue/account/session name; None for the global switch."""
    engaged: bool
    reason: str = ""
    actor: str = ""
    since: str = ""
    """ISO-8601 UTC time of the last change."""

    @property
    def key(self) -> str:
        return self.scope if self.target is None else f"{self.scope}:{self.target}"


@dataclass(frozen=True, slots=True)
class BreakerState:
    name: str
    """The breaker's scope, e.g. "instrument:AAPL" or "venue:equities"."""
    tripped: bool
    reason: str = ""
    since: str = ""


@dataclass(frozen=True, slots=True)
class RiskState:
    kill_switches: tuple[KillSwitchState, ...] = ()
    breakers: tuple[BreakerState, ...] = ()

    @property
    def any_engaged(self) -> bool:
        return any(switch.engaged for switch in self.kill_switches)


@runtime_checkable
class RiskControls(Protocol):
    """Every method runs on the router thread. Raise ValueError to refuse a change (HTTP 400)."""

    def risk_state(self) -> RiskState: ...

    def set_kill_switch(self, fx: Effects, *, scope: str, target: str | None, engaged: bool, cancel_open: bool,
                        actor: str, reason: str) -> RiskState: ...

    def reset_breaker(self, fx: Effects, *, name: str, actor: str, reason: str) -> RiskState: ...


def find_controls(gateway: Any) -> RiskControls | None:
    """`gateway.risk` when the gateway has risk controls (fixgw/risk/control.py), otherwise None."""
    candidate = getattr(gateway, "risk", None)
    return candidate if isinstance(candidate, RiskControls) else None
