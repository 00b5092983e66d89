"""The small interface between operators (admin API, alerts) and the risk engine's kill switches and breakers.

`find_controls(gateway)` looks at `gateway.risk`: an object implementing `RiskControls` is used as is; the
risk engine of fixgw/risk (`set_switch` + a `switches` board) is adapted. Every method runs on the router
thread (inside `runner.call`), so it may change risk state and put journal rows and cancels into the pass's
`Effects`. Without risk controls the admin API answers 501 for them and the rest of ops carries on.
Scopes use the risk engine's words: "global", "venue:NAME", "account:NAME", "session:NAME".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    scope: str
    """"global", "venue", "account" or "session"."""
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

    def set_kill_switch(self, core: RouterCore, fx: Effects, *, scope: str, target: str | None, engaged: bool,
                        cancel_open: bool, actor: str, reason: str) -> RiskState: ...

    def reset_breaker(self, core: RouterCore, fx: Effects, *, name: str, actor: str, reason: str) -> RiskState: ...


class RiskEngineControls:
    """`RiskControls` over fixgw.risk's engine (its `SwitchBoard` and `set_switch`)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def risk_state(self) -> RiskState:
        kills: list[KillSwitchState] = []
        breakers: list[BreakerState] = []
        for switch in self.engine.switches.all():
            since = switch.at.isoformat(timespec="seconds")
            if switch.kind == "kill":
                kind, _, name = switch.scope.partition(":")
                kills.append(KillSwitchState(kind, name or None, switch.active, switch.reason, switch.who, since))
            elif switch.kind == "breaker":
                breakers.append(BreakerState(switch.scope, switch.active, switch.reason, since))
        return RiskState(tuple(kills), tuple(breakers))

    def set_kill_switch(self, core: RouterCore, fx: Effects, *, scope: str, target: str | None, engaged: bool,
                        cancel_open: bool, actor: str, reason: str) -> RiskState:
        from fixgw.risk.switches import KILL, new_switch  # type: ignore[import-not-found, unused-ignore]

        text = scope if target is None else f"{scope}:{target}"
        self.engine.set_switch(new_switch(KILL, text, engaged, who=actor, reason=reason, cancel_open=cancel_open),
                               core, fx)
        return self.risk_state()

    def reset_breaker(self, core: RouterCore, fx: Effects, *, name: str, actor: str, reason: str) -> RiskState:
        from fixgw.risk.switches import BREAKER, new_switch  # type: ignore[import-not-found, unused-ignore]

        if not any(s.kind == BREAKER and s.scope == name and s.active for s in self.engine.switches.all()):
            raise ValueError(f"no tripped breaker {name!r}")
        self.engine.set_switch(new_switch(BREAKER, name, False, who=actor, reason=reason), core, fx)
        return self.risk_state()


def find_controls(gateway: Any) -> RiskControls | None:
    """The risk controls of `gateway` (`gateway.risk`), or None when the gateway has none."""
    candidate = getattr(gateway, "risk", None)
    if candidate is None:
        return None
    if isinstance(candidate, RiskControls):
        return candidate
    if hasattr(candidate, "set_switch") and hasattr(candidate, "switches"):
        return RiskEngineControls(candidate)
    return None
