"""`fixgw check-config` checks of the [admin] and [alerts] sections beyond their schema."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fixgw.config import GatewayConfig

Problem = tuple[str, str]


def check_ops(config: GatewayConfig) -> list[Problem]:
    problems: list[Problem] = []
    known = set(config.ems) | set(config.brokers) | set(config.venues)
    for key, names in (("admin.required_sessions", config.admin.required_sessions),
                       ("alerts.sessions", config.alerts.sessions)):
        for name in names or []:
            if name not in known:
                problems.append((key, f"unknown session {name!r} (known: {sorted(known)})"))
    hours = config.alerts.market_hours
    if hours is not None:
        try:
            ZoneInfo(hours.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(("alerts.market_hours.timezone", f"unknown time zone {hours.timezone!r}"))
        for field in ("start", "end"):
            value = getattr(hours, field)
            if not (value[:2].isdigit() and int(value[:2]) < 24 and int(value[3:]) < 60):
                problems.append((f"alerts.market_hours.{field}", f"{value!r} is not a time of day (HH:MM)"))
        if hours.start >= hours.end:
            problems.append(("alerts.market_hours", f"start {hours.start} is not before end {hours.end}"))
        if any(day not in range(7) for day in hours.days):
            problems.append(("alerts.market_hours.days", "weekdays are 0 (Monday) to 6 (Sunday)"))
    return problems
