"""Deterministic venue client order ids: the same ClOrdID always yields the same venue id, across restarts."""

from __future__ import annotations

import hashlib
import re


def venue_client_order_id(cl_ord_id: str, *, max_len: int, allowed: str = r"[A-Za-z0-9._:-]") -> str:
    """`cl_ord_id` itself when the venue accepts it, else a stable hash of it (never random)."""
    if len(cl_ord_id) <= max_len and re.fullmatch(f"{allowed}+", cl_ord_id):
        return cl_ord_id
    return "h-" + hashlib.sha256(cl_ord_id.encode()).hexdigest()[: max_len - 2]
