"""Reference prices and P&L as operators see them: JSON-ready rows (decimals as text) and plain-text tables,
shared by the admin API, the status page, metrics and the CLI."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from fixgw.marketdata.pnl import AccountPnl, PnlLine
from fixgw.marketdata.reference import Reference
from fixgw.model.decimals import fmt_decimal


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else fmt_decimal(value)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def price_row(reference: Reference) -> dict[str, Any]:
    return {
        "instrument": reference.instrument_id, "state": reference.state.value, "price": _dec(reference.price),
        "static": reference.static, "label": reference.label,
        "age_s": None if reference.age is None else _seconds(reference.age.total_seconds()), "why": reference.why,
        "sources": [{"source": view.quote.source, "bid": _dec(view.quote.bid), "ask": _dec(view.quote.ask),
                     "last": _dec(view.quote.last), "mid": _dec(view.quote.mid),
                     "age_s": _seconds(view.age.total_seconds()), "fresh": view.fresh, "flagged": view.flagged,
                     "divergence_pct": _dec(view.divergence_pct), "received_at": view.quote.received_at.isoformat(),
                     "venue_time": view.quote.venue_time.isoformat() if view.quote.venue_time else None}
                    for view in reference.sources],
    }


def prices_payload(references: Iterable[Reference], dropped: Mapping[tuple[str, str], int],
                   errors: Mapping[str, int]) -> dict[str, Any]:
    return {"instruments": [price_row(reference) for reference in references],
            "dropped": [{"source": s, "reason": r, "count": n} for (s, r), n in sorted(dropped.items())],
            "source_errors": dict(sorted(errors.items()))}


def account_row(pnl: AccountPnl) -> dict[str, Any]:
    return {"account": pnl.account, "currency": pnl.currency, "realized": _dec(pnl.realized),
            "unrealized": _dec(pnl.unrealized), "fees": _dec(pnl.fees), "total": _dec(pnl.total),
            "high_water": _dec(pnl.high_water), "drawdown": _dec(pnl.drawdown), "unpriced": list(pnl.unpriced)}


def line_row(line: PnlLine) -> dict[str, Any]:
    return {"account": line.account, "instrument": line.instrument_id, "venue": line.venue,
            "currency": line.currency, "position": _dec(line.position), "avg_cost": _dec(line.avg_cost),
            "mark": _dec(line.mark), "realized": _dec(line.realized), "unrealized": _dec(line.unrealized),
            "fees": _dec(line.fees), "total": _dec(line.total)}


def pnl_payload(since: datetime, accounts: Sequence[AccountPnl], lines: Sequence[PnlLine]) -> dict[str, Any]:
    return {"since": since.isoformat(), "accounts": [account_row(a) for a in accounts],
            "lines": [line_row(line) for line in lines]}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
            for row in (header, *rows)]


def prices_text(payload: Mapping[str, Any]) -> list[str]:
    rows = []
    for item in payload["instruments"]:
        price = (item["price"] or "-") + (" (static)" if item["static"] else "")
        rows.append([item["instrument"], item["state"], price, item["age_s"] or "-", "", "", "", "", item["why"]])
        for source in item["sources"]:
            mark = "diverged" if source["flagged"] else ("fresh" if source["fresh"] else "stale")
            rows.append(["", "", "", "", source["source"], source["bid"] or "-", source["ask"] or "-",
                         f'{source["mid"]} ({source["age_s"]}s {mark})', ""])
    lines = _table(["instrument", "state", "reference", "age_s", "source", "bid", "ask", "mid (age)", "why"], rows)
    for item in payload.get("dropped") or ():
        lines.append(f'dropped from {item["source"]}: {item["count"]} x {item["reason"]}')
    return lines


def pnl_text(payload: Mapping[str, Any]) -> list[str]:
    lines = [f'day P&L since {payload["since"]}']
    lines += _table(["account", "ccy", "realized", "unrealized", "fees", "total", "high water", "drawdown"],
                    [[a["account"] or "-", a["currency"], a["realized"], a["unrealized"], a["fees"], a["total"],
                      a["high_water"], a["drawdown"]] for a in payload["accounts"]])
    if payload["lines"]:
        lines.append("")
        lines += _table(["account", "instrument", "venue", "position", "avg cost", "mark", "realized", "unrealized",
                         "fees"],
                        [[r["account"] or "-", r["instrument"], r["venue"], r["position"], r["avg_cost"],
                          r["mark"] or "-", r["realized"], r["unrealized"] or "(no reference)", r["fees"]]
                         for r in payload["lines"]])
    return lines
