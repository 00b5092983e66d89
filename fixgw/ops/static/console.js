// fixgw operator console: live state from /console/events (server-sent events), charts drawn as SVG, the blotter,
// and confirmed controls. No external assets: everything is served by the admin server itself.
"use strict";
(function () {
  const HOUR = 3600;
  const MIN_WINDOW = 300;
  const PAGE = 50;
  const RECONNECT_MS = 2000;
  const EXTRA_EVERY_MS = 5000;
  const COLORS = ["#1f5fb4", "#c62828", "#1f9d55", "#8e44ad", "#e67e22", "#16a085", "#7f8c8d", "#d35400"];
  const $ = (id) => document.getElementById(id);
  const meta = (name) => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";
  const role = meta("fixgw-role");
  const csrf = meta("fixgw-csrf");
  const history = [];
  let scopes = {kill: [], ramp: [], venues: [], accounts: [], ems_sessions: [], margin_thresholds: {}};
  let lastRisk = null;
  let blotterOffset = 0;
  let blotterBusy = false;
  let blotterAgain = false;

  // ---------------------------------------------------------------- small DOM helpers (text only: no innerHTML)
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function fillTable(id, rows, empty, columns) {
    const body = document.querySelector(`#${id} tbody`);
    const fresh = document.createElement("tbody");
    if (!rows.length) {
      const tr = el("tr"); const td = el("td", empty, "muted"); td.colSpan = columns; tr.append(td); fresh.append(tr);
    }
    for (const row of rows) fresh.append(row);
    body.replaceWith(fresh);
  }
  function row(cells, onclick) {
    const tr = el("tr");
    for (const cell of cells) tr.append(cell instanceof Node ? cell : el("td", cell ?? ""));
    if (onclick) tr.addEventListener("click", onclick);
    return tr;
  }
  function td(child, cls) { const cell = el("td", null, cls); cell.append(child); return cell; }
  function badge(ok, yes, no) { return el("span", ok ? yes : no, ok ? "up" : "down"); }
  function hms(iso) { return iso ? iso.replace("T", " ").replace(/\+00:00$/, "").slice(0, 19) : ""; }
  function setOptions(select, values, keepFirst) {
    const current = select.value;
    while (select.options.length > (keepFirst ? 1 : 0)) select.remove(select.options.length - 1);
    for (const value of values) select.append(new Option(value, value));
    if ([...select.options].some((o) => o.value === current)) select.value = current;
  }

  // ---------------------------------------------------------------- SVG charts
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }
  // series: [{name, points: [[t, value|null], ...]}]; thresholds: [{name, value, color}]
  // The time axis spans the data held, at least MIN_WINDOW and at most an hour, ending now.
  function drawChart(container, series, options) {
    const opts = Object.assign({height: 150, unit: "", thresholds: []}, options || {});
    const now = Date.now() / 1000;
    let first = now;
    for (const s of series) if (s.points.length && s.points[0][0] < first) first = s.points[0][0];
    opts.window = opts.window || Math.min(HOUR, Math.max(MIN_WINDOW, now - first));
    const width = Math.max(240, opts.width || container.clientWidth || 600), height = opts.height;
    const left = 44, right = 8, top = 6, bottom = 16, from = now - opts.window;
    let max = 0;
    for (const s of series) for (const [t, v] of s.points) if (t >= from && v !== null && v > max) max = v;
    for (const t of opts.thresholds) if (t.value > max) max = t.value;
    let min = opts.min !== undefined ? opts.min : 0;
    if (opts.autoMin) {
      min = Infinity;
      for (const s of series) for (const [t, v] of s.points) if (t >= from && v !== null && v < min) min = v;
      if (!isFinite(min)) min = 0;
    }
    if (max <= min) max = min + (min === 0 ? 1 : Math.abs(min) * 0.01);
    const span = max - min, top_ = max + span * 0.08, bottom_ = opts.autoMin ? min - span * 0.08 : min;
    const x = (t) => left + (width - left - right) * (t - from) / opts.window;
    const y = (v) => top + (height - top - bottom) * (1 - (v - bottom_) / (top_ - bottom_));
    const root = svg("svg", {viewBox: `0 0 ${width} ${height}`, width, height, role: "img"});
    root.append(svg("rect", {x: left, y: top, width: width - left - right, height: height - top - bottom,
                             fill: "#fbfbfd", stroke: "#e1e4ea"}));
    for (const frac of [0, 0.5, 1]) {
      const value = bottom_ + (top_ - bottom_) * frac;
      const label = svg("text", {x: left - 4, y: y(value) + 3, "text-anchor": "end", "font-size": 10, fill: "#666"});
      label.textContent = format(value);
      root.append(label);
    }
    const minutes = (seconds) => `-${Math.round(seconds / 60)} min`;
    for (const [t, text] of [[from, minutes(opts.window)], [from + opts.window / 2, minutes(opts.window / 2)], [now, "now"]]) {
      const label = svg("text", {x: x(t), y: height - 3, "text-anchor": t === from ? "start" : t === now ? "end" : "middle",
                                 "font-size": 10, fill: "#666"});
      label.textContent = text;
      root.append(label);
    }
    for (const threshold of opts.thresholds) {
      root.append(svg("line", {x1: left, x2: width - right, y1: y(threshold.value), y2: y(threshold.value),
                               stroke: threshold.color || "#c62828", "stroke-dasharray": "5 3", "stroke-width": 1.2}));
    }
    const legend = el("div", null, "legend");
    series.forEach((s, i) => {
      const color = s.color || COLORS[i % COLORS.length];
      let d = "", pen = false, last = null;
      for (const [t, v] of s.points) {
        if (t < from || v === null || v === undefined) { pen = false; continue; }
        d += `${pen ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`; pen = true; last = v;
      }
      if (d) root.append(svg("path", {d, fill: "none", stroke: color, "stroke-width": 1.6,
                                       "stroke-dasharray": s.dashed ? "4 2" : ""}));
      const tail = s.points.length ? s.points[s.points.length - 1] : null;
      if (tail && tail[1] !== null && tail[0] >= from) root.append(svg("circle", {cx: x(tail[0]), cy: y(tail[1]), r: 2.2, fill: color}));
      const item = el("span"); const swatch = el("i"); swatch.style.background = color;
      item.append(swatch, `${s.name} ${last === null ? "-" : format(last) + opts.unit}`);
      legend.append(item);
    });
    for (const threshold of opts.thresholds) {
      const item = el("span"); const swatch = el("i"); swatch.style.background = threshold.color || "#c62828";
      item.append(swatch, `${threshold.name} ${format(threshold.value)}${opts.unit}`);
      legend.append(item);
    }
    container.replaceChildren(root, legend);
  }
  function format(v) {
    if (v === null || v === undefined || !isFinite(v)) return "-";
    const a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
  }

  function drawHistoryCharts() {
    const hops = new Set(), venues = new Set();
    for (const p of history) {
      for (const h of Object.keys(p.latency || {})) hops.add(h);
      for (const v of Object.keys(p.venues || {})) venues.add(v);
    }
    const latency = [];
    for (const hop of hops) {
      for (const q of ["p50", "p99"]) {
        latency.push({name: `${hop} ${q}`, dashed: q === "p99",
                      points: history.map((p) => [p.t, p.latency[hop] ? p.latency[hop][q] : null])});
      }
    }
    drawChart($("chart-latency"), latency, {unit: " ms"});
    drawChart($("chart-orders"), [
      {name: "orders/s", points: history.map((p) => [p.t, p.orders_per_s])},
      {name: "rejects/s", color: "#c62828", points: history.map((p) => [p.t, p.rejects_per_s])}], {unit: "/s"});
    if (!venues.size) {
      $("chart-venues").replaceChildren(el("p", "no REST venue configured", "muted"));
      return;
    }
    const series = [], thresholds = [];
    [...venues].forEach((venue, i) => {
      const color = COLORS[i % COLORS.length];
      series.push({name: venue, color, points: history.map((p) => [p.t, p.venues[venue] ? p.venues[venue].rate : null])});
      const limit = history.length ? (history[history.length - 1].venues[venue] || {}).limit : undefined;
      if (limit !== undefined) thresholds.push({name: `${venue} limit`, value: limit, color});
    });
    drawChart($("chart-venues"), series, {unit: "/s", thresholds});
  }

  // ---------------------------------------------------------------- charts fed by endpoints other items add
  // /api/prices (reference prices, [marketdata]) and /api/margin (margin ratio per venue, [margin]): drawn when the
  // endpoint answers; each series is kept client-side from the page's load.
  const extra = {};
  function numeric(value) { const n = typeof value === "number" ? value : parseFloat(value); return isFinite(n) ? n : null; }
  function entries(body) {
    if (Array.isArray(body)) return body;
    if (body.venues && !Array.isArray(body.venues)) {  // /api/margin: {as_of, venues: {name: {margin_ratio, ...}}}
      return Object.entries(body.venues).map(([venue, v]) => Object.assign({venue}, v));
    }
    for (const key of ["prices", "instruments", "venues", "accounts", "margin", "items"]) {
      if (Array.isArray(body[key])) return body[key];
    }
    return Object.entries(body).map(([name, v]) => (typeof v === "object" && v ? Object.assign({name}, v) : {name, value: v}));
  }
  const NAME_KEYS = ["instrument", "instrument_id", "venue", "account", "name"];
  const VALUE_KEYS = {prices: ["price", "reference_price", "reference", "mid", "value"],
                      margin: ["margin_ratio", "ratio", "value"]};
  const THRESHOLD_KEYS = ["warn", "reduce_only", "critical"];
  async function pollExtra(id, kind) {
    const box = $(id);
    let response;
    try { response = await fetch(box.dataset.endpoint, {credentials: "same-origin"}); } catch (e) { return; }
    if (response.status === 404 || response.status === 501) {
      box.replaceChildren(el("p", `${box.dataset.endpoint}: not available in this gateway`, "muted"));
      return;
    }
    if (!response.ok) return;
    const now = Date.now() / 1000;
    const store = extra[id] = extra[id] || {};
    for (const item of entries(await response.json())) {
      const name = NAME_KEYS.map((k) => item[k]).find((v) => v) || "?";
      const value = VALUE_KEYS[kind].map((k) => numeric(item[k])).find((v) => v !== null);
      const series = store[name] = store[name] || {points: [], thresholds: []};
      series.points.push([now, value === undefined ? null : value]);
      if (series.points.length > 2000) series.points.shift();
      const limits = item.thresholds || (kind === "margin" && scopes.margin_thresholds[name]) || item;
      series.thresholds = THRESHOLD_KEYS.filter((k) => numeric(limits[k]) !== null)
        .map((k, i) => ({name: k, value: numeric(limits[k]), color: ["#f0ad00", "#e67e22", "#c62828"][i]}));
    }
    const charts = Object.entries(store).slice(0, 12).map(([name, s]) => {
      const holder = el("div");
      drawChart(holder, [{name, points: s.points}], {height: 70, width: box.clientWidth, thresholds: s.thresholds,
                                                     autoMin: kind === "prices"});
      return holder;
    });
    box.replaceChildren(...(charts.length ? charts : [el("p", "no data yet", "muted")]));
  }

  // ---------------------------------------------------------------- the live snapshot
  function render(snap) {
    $("last-update").textContent = hms(snap.at);
    const ready = $("ready");
    ready.textContent = snap.ready ? "READY" : "NOT READY";
    ready.className = `pill ${snap.ready ? "up" : "down"}`;
    const banners = [];
    if (snap.risk && snap.risk.kill_switches.some((s) => s.engaged)) banners.push(el("div", "KILL SWITCH ENGAGED", "banner"));
    if (snap.error) banners.push(el("div", snap.error, "banner"));
    $("banners").replaceChildren(...banners);
    fillTable("sessions", snap.sessions.map((s) => row([
      s.name, s.role, td(badge(s.connected, "UP", "DOWN")), hms(s.connected ? s.up_since : s.down_since),
      td(el("span", s.next_sender_seq ?? "-"), "num"), td(el("span", s.next_target_seq ?? "-"), "num"),
      td(el("span", s.in_per_s), "num"), td(el("span", s.out_per_s), "num"), td(el("span", s.last_error), "wrap")])),
    "no sessions configured", 9);
    lastRisk = snap.risk;
    const risk = snap.risk ? [
      ...snap.risk.kill_switches.map((s) => row([`kill ${s.key}`, td(badge(!s.engaged, "off", "ENGAGED")), s.actor,
                                                 td(el("span", s.reason), "wrap"), hms(s.since)])),
      ...snap.risk.breakers.map((b) => row([`breaker ${b.name}`, td(badge(!b.tripped, "ok", "TRIPPED")), "",
                                            td(el("span", b.reason), "wrap"), hms(b.since)]))] : [];
    fillTable("risk", risk, snap.risk ? "no kill switch set, no breaker tripped" : "risk controls not available", 5);
    const alerts = [
      ...snap.alerts.firing.map((a) => row([td(el("span", "FIRING", "down")), a.severity, a.key,
                                            td(el("span", a.summary), "wrap"), hms(a.at)])),
      ...snap.alerts.resolved.map((a) => row([td(el("span", "resolved", "up")), a.severity, a.key,
                                              td(el("span", a.summary), "wrap"), hms(a.at)]))];
    fillTable("alerts", alerts, "no alert firing or recently resolved", 5);
    const recon = [
      ...snap.recon.runs.map((r) => {
        const link = el("a", "report"); link.href = r.report; link.target = "_blank";
        return row([r.venue, r.day, r.result, td(badge(!r.breaks, "0", String(r.breaks)), "num"), hms(r.finished_at),
                    td(link)]);
      }),
      ...snap.recon.checks.map((c) => row([c.venue, `${c.check} ${c.day}`, c.failed ? "FAILED" : c.summary,
                                           td(badge(!c.open_breaks && !c.failed, "0", String(c.open_breaks)), "num"),
                                           c.at, ""]))];
    fillTable("recon", recon, "no reconciliation run yet", 6);
    fillTable("rejects", snap.refusals.map((r) => row([r.at, r.kind, r.reason, r.order_id, td(el("span", r.text), "wrap")])),
              "none since start", 5);
    const counts = Object.entries(snap.by_status).map(([k, v]) => `${k}: ${v}`).join(", ");
    $("book-summary").textContent = `open ${snap.open_orders ?? "?"}${counts ? " · " + counts : ""}`;
    if (snap.point && (!history.length || snap.point.t > history[history.length - 1].t)) {
      history.push(snap.point);
      while (history.length && history[0].t < Date.now() / 1000 - HOUR) history.shift();
      drawHistoryCharts();
    }
    refreshScopeChoices();
    if (blotterOffset === 0) loadBlotter();
  }

  function connected(up, text) {
    const conn = $("conn");
    conn.textContent = text;
    conn.className = `pill ${up ? "up" : "down"}`;
    document.body.dataset.connection = up ? "live" : "disconnected";
  }

  let source = null;
  function connect() {
    if (source) source.close();
    source = new EventSource("/console/events");
    source.addEventListener("open", () => connected(true, "live"));
    source.addEventListener("scopes", (e) => { scopes = JSON.parse(e.data); applyScopes(); });
    source.addEventListener("snapshot", (e) => { connected(true, "live"); render(JSON.parse(e.data)); });
    source.addEventListener("error", () => {
      connected(false, "DISCONNECTED - reconnecting");
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);  // refused: retry ourselves
    });
  }

  // ---------------------------------------------------------------- blotter
  function applyScopes() {
    setOptions($("f-ems"), scopes.ems_sessions, true);
    setOptions($("f-account"), scopes.accounts, true);
    setOptions($("f-venue"), scopes.venues, true);
    refreshScopeChoices();
  }

  async function loadBlotter() {
    if (blotterBusy) { blotterAgain = true; return; }
    blotterBusy = true;
    blotterAgain = false;
    try {
      const params = new URLSearchParams({limit: String(PAGE + 1), offset: String(blotterOffset)});
      for (const [key, id] of [["ems_session", "f-ems"], ["account", "f-account"], ["instrument", "f-instrument"],
                               ["venue", "f-venue"], ["status", "f-status"]]) {
        const value = $(id).value.trim();
        if (value) params.set(key, value);
      }
      const response = await fetch(`/api/orders?${params}`, {credentials: "same-origin"});
      if (!response.ok) return;
      const orders = await response.json();
      $("blotter-next").disabled = orders.length <= PAGE;
      $("blotter-prev").disabled = blotterOffset === 0;
      $("blotter-page").textContent = `page ${blotterOffset / PAGE + 1}`;
      fillTable("blotter", orders.slice(0, PAGE).map((o) => row([
        hms(o.created_at), o.order_id, o.ems_session, o.cl_ord_id, o.account, o.instrument, o.side,
        td(el("span", o.order_qty), "num"), td(el("span", o.price ?? ""), "num"), td(el("span", o.cum_qty), "num"),
        td(el("span", o.avg_px ?? ""), "num"), o.status, o.venue ?? "", td(el("span", o.text ?? ""), "wrap")],
        () => openOrder(o.order_id))), "no order matches", 14);
      document.getElementById("blotter").dataset.loaded = String(Date.now());
    } finally {
      blotterBusy = false;
      if (blotterAgain) loadBlotter();  // a filter changed while this page was loading
    }
  }

  function section(title, headers, rows) {
    const box = el("div");
    box.append(el("h3", title));
    const table = el("table"), head = el("tr");
    for (const h of headers) head.append(el("th", h));
    table.append(head);
    for (const r of rows) table.append(row(r));
    if (!rows.length) table.append(row([td(el("span", "none", "muted"))]));
    box.append(table);
    return box;
  }

  async function openOrder(orderId) {
    const response = await fetch(`/api/orders/${encodeURIComponent(orderId)}/history`, {credentials: "same-origin"});
    const dialog = $("order-detail");
    $("od-title").textContent = `Order ${orderId}`;
    if (!response.ok) {
      $("od-body").replaceChildren(el("p", `cannot load: HTTP ${response.status}`, "bad-text"));
    } else {
      const h = await response.json();
      const o = h.order;
      $("od-body").replaceChildren(
        el("p", `${o.ems_session} ${o.cl_ord_id} · ${o.side} ${o.order_qty} ${o.instrument} @ ${o.price ?? "MKT"} · ` +
                `${o.status} · cum ${o.cum_qty} avg ${o.avg_px ?? "-"} · venue ${o.venue ?? "-"} ${o.venue_order_id ?? ""}`),
        section("Events", ["at", "event", "status", "detail"],
                h.events.map((e) => [hms(e.at), e.event, e.status, td(el("span", JSON.stringify(e.detail)), "wrap")])),
        section("Fills", ["at", "exec id", "venue", "qty", "price"],
                h.fills.map((f) => [hms(f.at), f.exec_id, f.venue, f.qty, f.price])),
        section("Messages (FIX and REST)", ["at", "session", "dir", "type", "seq", "message"],
                h.messages.map((m) => [hms(m.at), m.session, m.direction, m.msg_type, m.seq_num ?? "",
                                       td(el("pre", m.raw), "wrap")])));
    }
    if (!dialog.open) dialog.showModal();
  }

  // ---------------------------------------------------------------- controls
  function scopeChoices(action) {
    if (action === "kill_set") return scopes.kill;
    if (action === "kill_clear") {
      const engaged = (lastRisk ? lastRisk.kill_switches : []).filter((s) => s.engaged).map((s) => s.key.replace(/^ems_session:/, "session:"));
      return engaged.length ? engaged : scopes.kill;
    }
    if (action === "breaker_reset") return (lastRisk ? lastRisk.breakers : []).filter((b) => b.tripped).map((b) => b.name);
    return scopes.ramp.length ? scopes.ramp : scopes.venues.map((v) => `venue:${v}`);
  }
  function refreshScopeChoices() {
    if (role !== "write") return;
    const select = $("ctl-scope"), wanted = scopeChoices($("ctl-action").value);
    const have = [...select.options].map((o) => o.value);
    if (have.join("\n") !== wanted.join("\n")) setOptions(select, wanted, false);
    document.querySelectorAll(".kill-only").forEach((n) => { n.hidden = $("ctl-action").value !== "kill_set"; });
  }
  function result(text, ok) { const p = $("ctl-result"); p.textContent = text; p.className = ok ? "ok-text" : "bad-text"; }

  function review() {
    const action = $("ctl-action"), scope = $("ctl-scope").value;
    if (!scope) return result("choose a scope", false);
    if (!$("ctl-operator").value.trim() || !$("ctl-reason").value.trim()) return result("operator and reason are required", false);
    localStorage.setItem("fixgw-operator", $("ctl-operator").value.trim());
    const cancel = action.value === "kill_set" && $("ctl-cancel-open").checked ? " and CANCEL every open order in scope" : "";
    $("ctl-summary").textContent = `${action.options[action.selectedIndex].text} for ${scope}${cancel}. ` +
      `Type “${scope}” below to confirm.`;
    $("ctl-confirm-text").value = "";
    $("ctl-confirm-box").hidden = false;
    $("ctl-confirm-text").focus();
  }

  async function confirmAction() {
    const body = {action: $("ctl-action").value, scope: $("ctl-scope").value, operator: $("ctl-operator").value,
                  reason: $("ctl-reason").value, confirm: $("ctl-confirm-text").value,
                  cancel_open: $("ctl-action").value === "kill_set" && $("ctl-cancel-open").checked};
    let response;
    try {
      response = await fetch("/console/actions", {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)});
    } catch (e) {
      return result(`not sent: ${e}`, false);
    }
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      $("ctl-confirm-box").hidden = true;
      result(`done: ${answer.done}`, true);
    } else {
      result(`refused (HTTP ${response.status}): ${answer.detail || "?"}`, false);
    }
  }

  // ---------------------------------------------------------------- start
  document.addEventListener("DOMContentLoaded", async () => {
    $("ctl-operator").value = localStorage.getItem("fixgw-operator") || "";
    $("ctl-action").addEventListener("change", refreshScopeChoices);
    $("ctl-review").addEventListener("click", review);
    $("ctl-confirm").addEventListener("click", confirmAction);
    $("ctl-cancel").addEventListener("click", () => { $("ctl-confirm-box").hidden = true; });
    for (const id of ["f-ems", "f-account", "f-venue", "f-status"]) {
      $(id).addEventListener("change", () => { blotterOffset = 0; loadBlotter(); });
    }
    $("f-instrument").addEventListener("input", () => { blotterOffset = 0; loadBlotter(); });
    $("blotter-next").addEventListener("click", () => { blotterOffset += PAGE; loadBlotter(); });
    $("blotter-prev").addEventListener("click", () => { blotterOffset = Math.max(0, blotterOffset - PAGE); loadBlotter(); });
    try {
      const response = await fetch("/api/console/history", {credentials: "same-origin"});
      if (response.ok) history.push(...await response.json());
    } catch (e) { /* the stream brings points anyway */ }
    drawHistoryCharts();
    connect();
    loadBlotter();
    pollExtra("chart-prices", "prices");
    pollExtra("chart-margin", "margin");
    setInterval(() => { pollExtra("chart-prices", "prices"); pollExtra("chart-margin", "margin"); }, EXTRA_EVERY_MS);
  });
})();
