#!/usr/bin/env python3
"""Write systemd/grafana-fixgw.json: the Grafana dashboard for fixgw's /metrics (import it in Grafana).

    .venv/bin/python scripts/grafana_dashboard.py     # regenerate after changing metrics
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "systemd" / "grafana-fixgw.json"
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
SEL = 'instance=~"$instance"'


def panel(title: str, kind: str, targets: list[tuple[str, str]], x: int, y: int, w: int = 12, h: int = 8,
          unit: str = "short", **options: Any) -> dict[str, Any]:
    return {
        "title": title, "type": kind, "datasource": DS, "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": options,
        "targets": [{"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
                    for i, (expr, legend) in enumerate(targets)],
    }


def quantiles(metric: str, by: str = "") -> list[tuple[str, str]]:
    group = f"le, {by}" if by else "le"
    legend = f"{{{{{by}}}}} " if by else ""
    return [(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{SEL}}}[5m])))", f"{legend}p{p}")
            for q, p in ((0.5, 50), (0.95, 95), (0.99, 99))]


def dashboard() -> dict[str, Any]:
    panels = [
        panel("Ready", "stat", [(f"min(fixgw_ready{{{SEL}}})", "ready")], 0, 0, 4, 4),
        panel("Router up", "stat", [(f"min(fixgw_router_up{{{SEL}}})", "router")], 4, 0, 4, 4),
        panel("Open orders", "stat", [(f"sum(fixgw_open_orders{{{SEL}}})", "open")], 8, 0, 4, 4),
        panel("Kill switches engaged", "stat", [(f"sum(fixgw_kill_switch_engaged{{{SEL}}}) or vector(0)", "engaged")],
              12, 0, 4, 4),
        panel("Breakers tripped", "stat", [(f"sum(fixgw_circuit_breaker_tripped{{{SEL}}}) or vector(0)", "tripped")],
              16, 0, 4, 4),
        panel("Alerts firing", "stat", [(f"sum(fixgw_alerts_firing{{{SEL}}}) or vector(0)", "firing")], 20, 0, 4, 4),
        panel("Sessions up", "state-timeline", [(f"fixgw_session_up{{{SEL}}}", "{{session}} ({{role}})")], 0, 4, 24, 6),
        panel("Latency per hop (histogram, 5 min)", "timeseries", quantiles("fixgw_hop_latency_seconds", "hop"),
              0, 10, 12, 8, "s"),
        panel("Latency, last 4096 samples (p50/p95/p99)", "timeseries",
              [(f"fixgw_hop_latency_quantile_seconds{{{SEL}}}", "{{hop}} q{{quantile}}")], 12, 10, 12, 8, "s"),
        panel("Messages per second", "timeseries",
              [(f"sum by (session, direction) (rate(fixgw_messages_total{{{SEL}}}[1m]))",
                "{{session}} {{direction}}")], 0, 18, 12, 8, "ops"),
        panel("Messages by type", "timeseries",
              [(f"sum by (msg_type, direction) (rate(fixgw_messages_total{{{SEL}}}[1m]))",
                "{{direction}} 35={{msg_type}}")], 12, 18, 12, 8, "ops"),
        panel("Orders by status", "bargauge", [(f"sum by (status) (fixgw_orders{{{SEL}}})", "{{status}}")],
              0, 26, 12, 8),
        panel("Rejects and denials by reason", "timeseries",
              [(f"sum by (kind, reason) (rate(fixgw_rejects_total{{{SEL}}}[5m]))", "{{kind}} {{reason}}"),
               (f"sum(rate(fixgw_orders_received_total{{{SEL}}}[5m]))", "new orders")], 12, 26, 12, 8, "ops"),
        panel("Journal commit", "timeseries", [*quantiles("fixgw_journal_commit_seconds"),
                                               *[(e, "lag " + lg) for e, lg in quantiles("fixgw_journal_lag_seconds")]],
              0, 34, 12, 8, "s"),
        panel("Journal batch size (items per commit)", "timeseries",
              [(f"rate(fixgw_journal_batch_items_sum{{{SEL}}}[5m])"
                f" / rate(fixgw_journal_batch_items_count{{{SEL}}}[5m])", "mean"),
               (f"rate(fixgw_journal_write_errors_total{{{SEL}}}[5m])", "write errors/s")],
              12, 34, 12, 8),
        panel("REST venues: rate-limit tokens left", "timeseries",
              [(f"fixgw_ratelimit_available_tokens{{{SEL}}} / fixgw_ratelimit_burst_tokens{{{SEL}}}",
                "{{venue}} {{key}}"), (f"fixgw_ratelimit_waiting_requests{{{SEL}}}", "{{venue}} waiting")],
              0, 42, 12, 8, "percentunit"),
        panel("REST venues: retries, 429s, unknown outcomes", "timeseries",
              [(f"rate(fixgw_venue_http_retries_total{{{SEL}}}[5m])", "{{venue}} retries"),
               (f"rate(fixgw_ratelimit_penalties_total{{{SEL}}}[5m])", "{{venue}} 429"),
               (f"rate(fixgw_venue_http_unknown_outcomes_total{{{SEL}}}[5m])", "{{venue}} unknown"),
               (f"rate(fixgw_ratelimit_waited_seconds_total{{{SEL}}}[5m])", "{{venue}} s waited/s")], 12, 42, 12, 8),
        panel("Clock skew", "timeseries",
              [(f"fixgw_clock_skew_seconds{{{SEL}}}", "{{session}}"),
               (f"fixgw_venue_clock_offset_seconds{{{SEL}}}", "{{venue}} (REST)")], 0, 50, 12, 8, "s"),
        panel("Reconciliation breaks", "timeseries",
              [(f"fixgw_recon_open_breaks{{{SEL}}}", "{{venue}} open"),
               (f"increase(fixgw_recon_breaks_total{{{SEL}}}[1d])", "{{venue}} {{kind}} found (1d)")],
              12, 50, 12, 8),
        panel("Alerts", "timeseries",
              [(f"fixgw_alerts_firing{{{SEL}}}", "{{rule}} firing"),
               (f"rate(fixgw_alerts_sent_total{{{SEL}}}[5m])", "{{sink}} {{status}} sent"),
               (f"rate(fixgw_alerts_dropped_total{{{SEL}}}[5m])", "{{sink}} dropped ({{why}})")], 0, 58, 24, 8),
    ]
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                      "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "title": "fixgw", "uid": "fixgw-gateway", "tags": ["fixgw", "fix"], "timezone": "utc",
        "schemaVersion": 39, "version": 1, "refresh": "10s", "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "instance", "type": "query", "datasource": DS, "query": "label_values(fixgw_ready, instance)",
            "includeAll": True, "multi": True, "current": {"text": "All", "value": "$__all"}, "refresh": 2}]},
        "panels": [{**p, "id": i + 1} for i, p in enumerate(panels)],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(dashboard(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
