"""Configuration reload (SIGHUP, `POST /api/reload`): all or nothing, applied on the router thread.

The file is validated in full (schema and deep checks); every reloader whose sections changed prepares its
change and may refuse it (`ReloadRefused`); only then are all changes applied together in one `runner.call`,
between two router passes. A changed section that no reloader handles is refused: it needs a restart.

To make a section reloadable (risk limits, say), register a `Reloader`:

    register_reloader(MyReloader())   # sections = ("risk",); prepare() validates and returns the swap
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog

from fixgw.config import ConfigError, GatewayConfig, load_config
from fixgw.ops.view import RouterUnavailable, call_on_router
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects
from fixgw.router.routing import RouteTable

log = structlog.get_logger("fixgw.ops.reload")

Apply = Callable[[RouterCore, Effects], None]


class ReloadRefused(Exception):
    """The new configuration cannot be applied; the message says why. Nothing changes."""


class Reloader(Protocol):
    sections: tuple[str, ...]
    """Top-level config sections this reloader applies."""

    def prepare(self, gateway: Any, old: GatewayConfig, new: GatewayConfig) -> Apply | None:
        """Validate and build the change (raise ReloadRefused); the returned function runs on the router thread."""


@dataclass(frozen=True)
class ReloadResult:
    applied: bool
    changed: list[str] = field(default_factory=list)
    reason: str = ""


class RoutingReloader:
    sections: tuple[str, ...] = ("routing",)

    def prepare(self, gateway: Any, old: GatewayConfig, new: GatewayConfig) -> Apply:
        known = set(getattr(gateway, "venues", {}) or {}) | set(new.brokers) | set(new.venues)
        missing = sorted(new.routing.destinations() - known)
        if missing:
            raise ReloadRefused(f"routing names unknown venues: {', '.join(missing)}")
        table = RouteTable(new.routing)

        def swap(core: RouterCore, _fx: Effects) -> None:
            core.routes = table

        return swap


class LogReloader:
    sections: tuple[str, ...] = ("log",)

    def prepare(self, gateway: Any, old: GatewayConfig, new: GatewayConfig) -> Apply:
        def swap(_core: RouterCore, _fx: Effects) -> None:
            from fixgw.logs import configure_logging

            configure_logging(new.log.level, new.log.format)

        return swap


RELOADERS: list[Reloader] = [RoutingReloader(), LogReloader()]


def register_reloader(reloader: Reloader) -> None:
    """Add a reloader for every later reload (idempotent per class)."""
    if not any(type(existing) is type(reloader) for existing in RELOADERS):
        RELOADERS.append(reloader)


def changed_sections(old: GatewayConfig, new: GatewayConfig) -> list[str]:
    return [name for name in type(old).model_fields if getattr(old, name) != getattr(new, name)]


def reload_config(gateway: Any, path: Path, *, extra: Sequence[Reloader] = ()) -> ReloadResult:
    """Re-read `path` and apply it to the running `gateway`, or refuse and change nothing."""
    from fixgw.configcheck import deep_check

    old: GatewayConfig = gateway.config
    try:
        new = load_config(path)
        problems = deep_check(new)
    except ConfigError as exc:
        problems = exc.problems
    if problems:
        return _refused([], "; ".join(f"{key}: {reason}" for key, reason in problems))
    changed = changed_sections(old, new)
    if not changed:
        log.info("reload.unchanged", path=str(path))
        return ReloadResult(True, [], "no change")
    reloaders = [*RELOADERS, *extra]
    handled = {section for reloader in reloaders for section in reloader.sections}
    fixed = [section for section in changed if section not in handled]
    if fixed:
        return _refused(changed, f"{', '.join(fixed)} can only change with a restart")
    actions: list[Apply] = []
    try:
        for reloader in reloaders:
            if set(reloader.sections) & set(changed):
                action = reloader.prepare(gateway, old, new)
                if action is not None:
                    actions.append(action)
    except ReloadRefused as exc:
        return _refused(changed, str(exc))

    def apply_all(core: RouterCore, fx: Effects) -> None:
        for action in actions:
            action(core, fx)

    try:
        call_on_router(gateway.runner, apply_all, durable=True)
    except RouterUnavailable as exc:
        return _refused(changed, f"{exc}: the change may still apply when the router resumes")
    gateway.config = new
    log.info("reload.applied", path=str(path), sections=changed)
    return ReloadResult(True, changed)


def _refused(changed: list[str], reason: str) -> ReloadResult:
    log.error("reload.refused", sections=changed, reason=reason)
    return ReloadResult(False, changed, reason)
