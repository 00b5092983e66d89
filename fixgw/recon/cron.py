"""Crontab expressions as APScheduler triggers: shared by the scheduler (`service.py`) and check-config, which
must not load the scheduler's module (it leads to drift, risk and ops)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def crontab_trigger(expr: str, timezone: ZoneInfo) -> CronTrigger:
    """A standard crontab expression (weekday 0 or 7 = Sunday, 1 = Monday) as an APScheduler 3 trigger, whose own
    `from_crontab` counts weekdays from Monday = 0: weekday numbers are turned into names first."""
    minute, hour, day, month, weekday = expr.split()
    named = re.sub(r"(?<![*/\d])([0-7])(?!\d)", lambda m: _DAY_NAMES[int(m.group(1))], weekday)
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=named, timezone=timezone)


def latest_fire_time(trigger: BaseTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The trigger's last scheduled time at or before `now`, looking back at most `lookback`."""
    latest = None
    fire = trigger.get_next_fire_time(None, now - lookback)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest
