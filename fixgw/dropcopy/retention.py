"""Retention: which journal days `fixgw audit purge` may delete.

The contract with reconciliation (fixgw/recon writes it, this module only reads it): journal state key
`recon:<YYYY-MM-DD>` (a UTC day) holds "clean" when every venue's statement for that day matched the journal,
"breaks" otherwise; no key means the day was never reconciled. A day is purged only when it is older than the
retention (strictly before today - `days`) AND marked "clean". Unreconciled days and days with breaks are kept
whatever their age, and reported. Per-venue keys (`recon:<day>:<venue>`) do not count; only the day's verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

RECON_STATE_PREFIX = "recon:"
RECON_CLEAN = "clean"
RECON_BREAKS = "breaks"


def recon_state_key(day: date) -> str:
    return f"{RECON_STATE_PREFIX}{day.isoformat()}"


def recon_verdicts(state: Mapping[str, str]) -> dict[date, str]:
    """The day verdicts among journal state rows (e.g. `Journal.state_with_prefix("recon:")`)."""
    verdicts: dict[date, str] = {}
    for key, value in state.items():
        text = key.removeprefix(RECON_STATE_PREFIX)
        if key.startswith(RECON_STATE_PREFIX) and len(text) == 10:
            try:
                verdicts[date.fromisoformat(text)] = value
            except ValueError:
                continue
    return verdicts


@dataclass
class PurgePlan:
    cutoff: date
    """Days strictly before this one are past the retention."""
    purge: list[date] = field(default_factory=list)
    unreconciled: list[date] = field(default_factory=list)
    breaks: list[date] = field(default_factory=list)


def plan_purge(*, today: date, days: int, first_day: date | None, verdicts: Mapping[date, str],
               has_data: Callable[[date], bool]) -> PurgePlan:
    """Every day from the journal's first up to the cutoff that holds data, sorted into purge / keep."""
    if days < 1:
        raise ValueError("retention days must be at least 1")
    plan = PurgePlan(cutoff=today - timedelta(days=days))
    day = first_day
    while day is not None and day < plan.cutoff:
        if has_data(day):
            verdict = verdicts.get(day)
            if verdict == RECON_CLEAN:
                plan.purge.append(day)
            elif verdict == RECON_BREAKS:
                plan.breaks.append(day)
            else:
                plan.unreconciled.append(day)
        day += timedelta(days=1)
    return plan
