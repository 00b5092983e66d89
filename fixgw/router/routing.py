"""Declarative routing: first matching rule wins, then the default; failover for new orders only.

Failover semantics: when a rule's destination is not connected and it names a backup that is, NEW orders go
to the backup. Orders already live stay with the venue that holds them: their cancels, replaces and status
requests always go to that venue (and wait for it to reconnect) - moving a live order would risk doubling it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass

from fixgw.model.enums import OrdType
from fixgw.model.instruments import Instrument
from fixgw.router.rules import RouteRule, RoutingConfig


@dataclass(frozen=True, slots=True)
class RouteDecision:
    destination: str | None
    rule: str | None
    failover: bool = False
    reason: str = ""


class _CompiledRule:
    __slots__ = ("pattern", "rule")

    def __init__(self, rule: RouteRule) -> None:
        self.rule = rule
        self.pattern = re.compile(fnmatch.translate(rule.match.symbol)) if rule.match.symbol else None

    def matches(self, ems_session: str, account: str | None, instrument: Instrument, ord_type: OrdType) -> bool:
        match = self.rule.match
        if match.ems_session is not None and ems_session not in match.ems_session:
            return False
        if match.account is not None and account not in match.account:
            return False
        if match.instrument is not None and instrument.id not in match.instrument:
            return False
        if self.pattern is not None and not self.pattern.match(instrument.id):
            return False
        if match.asset_class is not None and instrument.asset_class not in match.asset_class:
            return False
        return match.ord_type is None or ord_type in match.ord_type


class RouteTable:
    def __init__(self, config: RoutingConfig) -> None:
        self._rules = [_CompiledRule(rule) for rule in config.rules]
        self._default = config.default

    def select(
        self,
        *,
        ems_session: str,
        account: str | None,
        instrument: Instrument,
        ord_type: OrdType,
        is_connected: Callable[[str], bool],
    ) -> RouteDecision:
        for compiled in self._rules:
            if compiled.matches(ems_session, account, instrument, ord_type):
                rule = compiled.rule
                if is_connected(rule.destination) or rule.backup is None:
                    return RouteDecision(rule.destination, rule.name)
                if is_connected(rule.backup):
                    return RouteDecision(rule.backup, rule.name, failover=True,
                                         reason=f"{rule.destination} not logged on")
                return RouteDecision(rule.destination, rule.name)
        if self._default is not None:
            return RouteDecision(self._default, None)
        return RouteDecision(None, None, reason="no routing rule matches and no default route is configured")
