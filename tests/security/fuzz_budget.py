"""How many fuzz cases to run: a bounded number in the suite, more on demand (scripts/fuzz sets the variable)."""

from __future__ import annotations

import os

ENV = "FIXGW_FUZZ_EXAMPLES"


def examples(default: int) -> int:
    """$FIXGW_FUZZ_EXAMPLES when set, else `default` (the suite's bounded count)."""
    value = os.environ.get(ENV)
    return int(value) if value else default
