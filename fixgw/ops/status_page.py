"""The operators' status page: one server-rendered HTML page that reloads itself every few seconds.

No JavaScript and no external assets (the admin server is often reached through an SSH tunnel with no
internet): sessions up/down, open orders, recent rejects, latency percentiles, kill switches, firing alerts,
scheduled reconciliation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from fixgw.engine.observe import SessionState
from fixgw.ops.alert_rules import Alert
from fixgw.ops.controls import RiskState

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;background:#f7f7f7;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.2em 0 .4em}
table{border-collapse:collapse;background:#fff;min-width:30em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#eee}
.up{color:#fff;background:#2a2;font-weight:bold}.down{color:#fff;background:#c22;font-weight:bold}
.muted{color:#777}.banner{padding:.5em 1em;margin:.5em 0;font-weight:bold}
.ok{background:#dfd}.bad{background:#fdd}.num{text-align:right;font-variant-numeric:tabular-nums}
"""


@dataclass(frozen=True)
class StatusData:
    name: str
    ready: bool
    sessions: Sequence[SessionState]
    open_orders: int | None
    by_status: dict[str, int]
    open_rows: Sequence[dict[str, Any]]
    refusals: Sequence[tuple[str, str, str, str, str]]
    latency: dict[str, dict[float, float] | None]
    risk: RiskState | None
    risk_available: bool
    alerts: Sequence[Alert]
    refresh_s: int
    error: str | None = None
    recon: Sequence[dict[str, Any]] = ()
    """The latest scheduled reconciliation result per venue and check (ReconBoard.rows)."""
    transfers: str = ""
    """The latest transfer reconciliation, one line (fixgw.recon.transfers.status)."""
    prices: Sequence[dict[str, Any]] = ()
    """Reference prices (fixgw/marketdata/report.py price_row)."""
    pnl: Sequence[dict[str, Any]] = ()
    """The day's P&L per account (fixgw/marketdata/report.py account_row)."""
    margin: Sequence[str] = ()
    """The latest margin snapshot, one line per venue and one for the desk (fixgw.margin.report)."""


def _rows(rows: Iterable[Sequence[str]], empty: str, columns: int) -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return body or f'<tr><td colspan="{columns}" class="muted">{escape(empty)}</td></tr>'


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.3f} ms"


def render_status(data: StatusData) -> str:
    e = escape
    sessions = _rows(([e(s.name), e(s.role), '<span class="up">UP</span>' if s.connected else
                       '<span class="down">DOWN</span>', e(str(s.next_sender_seq or "-")),
                       e(str(s.next_target_seq or "-"))] for s in data.sessions), "no sessions configured", 5)
    latency = _rows(([e(hop)] + ([f'<span class="num">{_ms(q.get(p))}</span>' for p in (0.5, 0.95, 0.99)]
                                 if q else ['<span class="muted">no samples</span>'] * 3)
                     for hop, q in data.latency.items()), "no samples", 4)
    refusals = _rows(([e(at), e(kind), e(reason), e(order_id), e(text)]
                      for at, kind, reason, order_id, text in reversed(data.refusals)), "none since start", 5)
    orders = _rows(([e(r["order_id"]), e(r["ems_session"]), e(r["cl_ord_id"]), e(r["instrument"]), e(r["side"]),
                     e(r["order_qty"] or ""), e(r["price"] or ""), e(r["status"]), e(r["venue"] or "")]
                    for r in data.open_rows), "no open orders", 9)
    statuses = ", ".join(f"{e(k)}: {v}" for k, v in sorted(data.by_status.items())) or "no orders"
    if not data.risk_available:
        risk = '<p class="muted">risk controls not available</p>'
    else:
        switches = data.risk.kill_switches if data.risk else ()
        breakers = data.risk.breakers if data.risk else ()
        risk = "<table><tr><th>kill switch / breaker</th><th>state</th><th>why</th><th>since</th></tr>" + _rows(
            [*([e(s.key), '<span class="down">ENGAGED</span>' if s.engaged else "off", e(s.reason), e(s.since)]
               for s in switches),
             *([e(b.name), '<span class="down">TRIPPED</span>' if b.tripped else "ok", e(b.reason), e(b.since)]
               for b in breakers)], "no kill switch engaged, no breaker tripped", 4) + "</table>"
    engaged = data.risk is not None and data.risk.any_engaged
    alerts = _rows(([e(a.severity), e(a.key), e(a.summary), e(a.at.strftime("%H:%M:%S"))] for a in data.alerts),
                   "none", 4)
    recon = _rows(([e(r["venue"]), e(r["check"]), e(r["day"]), e(r["at"]),
                    '<span class="down">FAILED</span>' if r["failed"] else
                    f'<span class="down">{r["open_breaks"]} OPEN</span>' if r["open_breaks"] else "clean",
                    e(r["summary"])] for r in data.recon), "no scheduled reconciliation result since start", 6)
    prices = _rows(([e(p["instrument"]), e(p["state"]) if p["state"] == "ok" else f'<span class="down">{e(p["state"])}'
                     '</span>', f'<span class="num">{e(p["price"] or "-")}</span>' + (" static" if p["static"] else ""),
                     e(p["age_s"] or "-"), e(", ".join(s["source"] + (" (diverged)" if s["flagged"] else "")
                                                       for s in p["sources"] if s["fresh"])), e(p["why"])]
                    for p in data.prices), "no reference prices", 6)
    pnl = _rows(([e(a["account"] or "-"), e(a["currency"])] + [f'<span class="num">{e(a[kind])}</span>' for kind in
                                                              ("realized", "unrealized", "fees", "total", "drawdown")]
                 for a in data.pnl), "no fills today", 7)
    banner = ('<div class="banner ok">READY</div>' if data.ready else '<div class="banner bad">NOT READY</div>')
    if engaged:
        banner += '<div class="banner bad">KILL SWITCH ENGAGED</div>'
    if data.error:
        banner += f'<div class="banner bad">{e(data.error)}</div>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{data.refresh_s}">
<title>{e(data.name)} - fixgw status</title><style>{_STYLE}</style></head>
<body><h1>{e(data.name)}</h1><div class="muted">fixgw status, refreshes every {data.refresh_s} s</div>{banner}
<h2>Sessions</h2><table id="sessions"><tr><th>session</th><th>role</th><th>state</th><th>next out seq</th>
<th>next in seq</th></tr>{sessions}</table>
<h2>Kill switches and breakers</h2>{risk}
<h2>Reference prices</h2><table id="prices"><tr><th>instrument</th><th>state</th><th>reference</th><th>age s</th>
<th>fresh sources</th><th>why</th></tr>{prices}</table>
<h2>P&amp;L (day)</h2><table id="pnl"><tr><th>account</th><th>ccy</th><th>realized</th><th>unrealized</th><th>fees</th>
<th>total</th><th>drawdown</th></tr>{pnl}</table>
<h2>Firing alerts</h2><table id="alerts"><tr><th>severity</th><th>alert</th><th>summary</th><th>since</th></tr>
{alerts}</table>
<h2>Reconciliation</h2><table id="recon"><tr><th>venue</th><th>check</th><th>day</th><th>at (UTC)</th>
<th>breaks</th><th>summary</th></tr>{recon}</table>
<h2>Transfers</h2><div id="transfers">{e(data.transfers or "not reconciled")}</div>
<h2>Margin</h2><div id="margin">{"<br>".join(e(line) for line in data.margin) or "no margin snapshot"}</div>
<h2>Latency</h2><table id="latency"><tr><th>hop</th><th>p50</th><th>p95</th><th>p99</th></tr>{latency}</table>
<h2>Open orders: {data.open_orders if data.open_orders is not None else "?"}</h2>
<div class="muted">{statuses}</div>
<table id="open-orders"><tr><th>order</th><th>EMS</th><th>ClOrdID</th><th>instrument</th><th>side</th><th>qty</th>
<th>price</th><th>status</th><th>venue</th></tr>{orders}</table>
<h2>Recent rejects</h2><table id="rejects"><tr><th>time (UTC)</th><th>kind</th><th>reason</th><th>order</th>
<th>text</th></tr>{refusals}</table>
</body></html>"""
