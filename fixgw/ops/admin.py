"""The admin HTTP server: FastAPI on uvicorn in its own thread, 127.0.0.1 by default, bearer-token protected.

Open: `/healthz`, `/readyz` (status only), `/openapi.json` and the console's static files. Everything else needs
`Authorization: Bearer <token>` (`admin.token`, or one of `admin.read_only_tokens`, which read and never write);
the status page and the console may instead be opened once with `?token=...`, which sets a cookie (SameSite=Strict,
the token's id and an HMAC of the token, never the token) and redirects to the bare URL. API controls (POST /api/...)
take the admin bearer header only; the console's actions (POST /console/actions) take it too, or the admin cookie
with the page's CSRF token. A refused write is journaled (fixgw.ops.console). The book is read through router-thread
snapshots (`GatewayView`).
"""

# No `from __future__ import annotations`: FastAPI resolves the dependencies below (closures) at definition.
import asyncio
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import structlog
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field
from starlette.responses import StreamingResponse

from fixgw import __version__
from fixgw.ops import marketdata as marketdata_view
from fixgw.ops.console import ActionRefused, Console, ControlRequest, token_id
from fixgw.ops.controls import RiskState
from fixgw.ops.status_page import StatusData, render_status
from fixgw.ops.venue_status import venue_status
from fixgw.ops.view import BlotterFilter, RouterUnavailable, call_on_router
from fixgw.recon.transfers.status import status_line
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects

if TYPE_CHECKING:
    from fixgw.ops.runtime import OpsRuntime

log = structlog.get_logger("fixgw.ops.admin")

COOKIE = "fixgw_status"
START_TIMEOUT_S = 10.0
STREAM_EVERY_S = 1.0
STATIC = Path(__file__).with_name("static")
CONSOLE_CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
"""The console runs only its own script and style, talks only to this server, and is never framed (clickjacking)."""


@dataclass(frozen=True, slots=True)
class Credential:
    """One configured token: its public id (audit), whether it may write, and the cookie it logs a browser in with."""

    token: bytes
    tid: str
    write: bool
    cookie: str


def _credentials_of(admin_token: str, read_only: list[str]) -> list[Credential]:
    def make(token: str, write: bool) -> Credential:
        tid = token_id(token)
        mac = hmac.new(token.encode(), b"fixgw status page", hashlib.sha256).hexdigest()
        return Credential(token.encode(), tid, write, f"{tid}.{mac}")

    return [make(admin_token, True), *(make(token, False) for token in read_only if token != admin_token)]


class SessionOut(BaseModel):
    name: str
    role: str
    connected: bool
    next_sender_seq: int | None
    next_target_seq: int | None


class KillSwitchRequest(BaseModel):
    scope: str = Field(description='"global", "venue", "account" or "session"/"ems_session"')
    target: str | None = Field(default=None, description="venue/account/session name; none for global")
    engaged: bool
    cancel_open: bool = Field(default=False, description="also cancel every open order in scope")
    actor: str = Field(min_length=1, description="who (audited)")
    reason: str = Field(min_length=1, description="why (audited)")


class BreakerResetRequest(BaseModel):
    actor: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class ReloadOut(BaseModel):
    applied: bool
    changed: list[str]
    reason: str


def _risk_json(state: RiskState) -> dict[str, Any]:
    return {"kill_switches": [{"key": s.key, "scope": s.scope, "target": s.target, "engaged": s.engaged,
                               "reason": s.reason, "actor": s.actor, "since": s.since} for s in state.kill_switches],
            "breakers": [{"name": b.name, "tripped": b.tripped, "reason": b.reason, "since": b.since}
                         for b in state.breakers]}


def create_app(ops: "OpsRuntime", console: Console | None = None) -> FastAPI:
    admin = ops.config.admin
    assert admin.token is not None
    known = _credentials_of(admin.token.get_secret_value(),
                            [t.get_secret_value() for t in admin.read_only_tokens])
    csrf_key = secrets.token_bytes(32)  # per process: a page from before a restart must be reloaded to act
    bearer = HTTPBearer(auto_error=False, description="The admin token ([admin] token) or a read-only token")
    app = FastAPI(title="fixgw admin API", version=__version__, docs_url=None, redoc_url=None,
                  description="Health, readiness, metrics, sessions, the order blotter and risk controls.")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    console = console or Console(ops)

    def by_token(value: str) -> Credential | None:
        found = None
        for credential in known:  # compare with every one: the time taken says nothing about which matched
            if hmac.compare_digest(value.encode(), credential.token):
                found = credential
        return found

    def by_bearer(credentials: HTTPAuthorizationCredentials | None) -> Credential | None:
        return None if credentials is None else by_token(credentials.credentials)

    def by_cookie(request: Request) -> Credential | None:
        value = request.cookies.get(COOKIE, "")
        tid = value.partition(".")[0]
        for credential in known:
            if credential.tid == tid and hmac.compare_digest(value.encode(), credential.cookie.encode()):
                return credential
        return None

    def csrf_token(credential: Credential) -> str:
        return hmac.new(csrf_key, credential.cookie.encode(), hashlib.sha256).hexdigest()

    def _bearer_ok(credentials: HTTPAuthorizationCredentials | None) -> bool:
        return by_bearer(credentials) is not None

    def write_access(request: Request,
                     credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        credential = by_bearer(credentials)
        if credential is not None and credential.write:
            return
        why = "read-only token" if credential is not None else "bearer token required"
        console.refused(request.url.path, why, tid=credential.tid if credential else "", client=_client(request))
        if credential is not None:
            raise HTTPException(403, "this token is read-only")
        raise HTTPException(401, why, headers={"WWW-Authenticate": "Bearer"})

    def reader(request: Request) -> Credential:
        credential = by_bearer(_credentials(request)) or by_cookie(request)
        if credential is None:
            raise HTTPException(401, "bearer token required", headers={"WWW-Authenticate": "Bearer"})
        return credential

    def read_access(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        reader(request)

    def login(path: str, token_param: str) -> Response:
        credential = by_token(token_param)
        if credential is None:
            raise HTTPException(401, "wrong token")
        redirect = RedirectResponse(path, status_code=303)
        redirect.set_cookie(COOKIE, credential.cookie, httponly=True, samesite="strict", path="/")
        return redirect

    read = [Depends(read_access)]
    write = [Depends(write_access)]

    def controls_or_501() -> Any:
        controls = ops.view.controls
        if controls is None:
            raise HTTPException(501, "risk controls are not available in this gateway")
        return controls

    def on_router(function: Any) -> Any:
        try:
            return call_on_router(ops.gateway.runner, function, durable=True)
        except RouterUnavailable as exc:
            raise HTTPException(503, str(exc)) from None

    @app.get("/healthz", tags=["health"], summary="Liveness: the process and its router thread are alive")
    def healthz() -> JSONResponse:
        alive = ops.healthy()
        return JSONResponse({"status": "ok" if alive else "router not running"}, status_code=200 if alive else 503)

    @app.get("/readyz", tags=["health"], summary="Readiness: journal open and required sessions logged on")
    def readyz(request: Request) -> JSONResponse:
        ready, detail = ops.readiness()
        body: dict[str, Any] = {"ready": ready}
        if _bearer_ok(_credentials(request)):
            body.update(detail)  # session names only for the authorised
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["metrics"], dependencies=read, response_class=PlainTextResponse,
             summary="Prometheus metrics (text exposition format)")
    def metrics() -> Response:
        return Response(ops.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/ha", tags=["ha"], dependencies=read, summary="HA: this node's role, epoch, lease age")
    def ha() -> dict[str, Any]:
        return {"enabled": False} if ops.ha_status is None else {"enabled": True, **ops.ha_status()}

    @app.get("/api/sessions", tags=["sessions"], dependencies=read, response_model=list[SessionOut])
    def sessions() -> list[SessionOut]:
        return [SessionOut(name=s.name, role=s.role, connected=s.connected, next_sender_seq=s.next_sender_seq,
                           next_target_seq=s.next_target_seq) for s in ops.view.sessions()]

    @app.get("/api/venues", tags=["sessions"], dependencies=read,
             summary="Each venue: up or down, health probe, endpoints the venue says are deprecated or sunsetting")
    def venues() -> list[dict[str, Any]]:
        return venue_status(getattr(ops.gateway, "venues", {}) or {})

    @app.get("/api/orders", tags=["orders"], dependencies=read, summary="The order blotter, newest first")
    def orders(status: Annotated[str | None, Query(description='status name (FILLED, ...) or "open"')] = None,
               ems_session: str | None = None, venue: str | None = None, account: str | None = None,
               instrument: str | None = None, cl_ord_id: str | None = None,
               limit: Annotated[int, Query(ge=1, le=5000)] = 200,
               offset: Annotated[int, Query(ge=0, le=4999, description="rows to skip (paging)")] = 0,
               ) -> list[dict[str, Any]]:
        query = BlotterFilter(status, ems_session, venue, account, instrument, cl_ord_id, limit, offset)
        try:
            return ops.view.blotter(query)
        except RouterUnavailable as exc:
            raise HTTPException(503, str(exc)) from None

    @app.get("/api/orders/{order_id}/history", tags=["orders"], dependencies=read,
             summary="One order with its events, fills and FIX/REST messages from the journal")
    def order_history(order_id: str) -> dict[str, Any]:
        return _one_order(ops.view.order_history, order_id)

    @app.get("/api/orders/{order_id}", tags=["orders"], dependencies=read)
    def order(order_id: str) -> dict[str, Any]:
        return _one_order(ops.view.order, order_id)

    @app.get("/api/alerts", tags=["alerts"], dependencies=read, summary="Alerts firing now")
    def alerts() -> list[dict[str, Any]]:
        return [{"key": a.key, "rule": a.rule, "subject": a.subject, "severity": a.severity, "summary": a.summary,
                 "since": a.at.isoformat()} for a in ops.firing_alerts()]

    @app.get("/api/risk", tags=["risk"], dependencies=read, summary="Kill switches and circuit breakers")
    def risk() -> dict[str, Any]:
        controls = controls_or_501()
        state: RiskState = on_router(lambda _core, _fx: controls.risk_state())
        return _risk_json(state)

    @app.get("/api/margin", tags=["risk"], dependencies=read,
             summary="Collateral and margin per venue and for the desk (as `fixgw margin status --json`)")
    def margin() -> dict[str, Any]:
        from fixgw.margin.service import read_last

        last = read_last(ops.gateway.journal)
        if last is None:
            raise HTTPException(404, "no margin snapshot yet ([margin] enabled?)")
        return last

    @app.post("/api/margin/refresh", tags=["risk"], dependencies=write,
              summary="Pull every margin venue's account data now, value and journal it; answers the new status")
    def margin_refresh() -> dict[str, Any]:
        service = getattr(ops.gateway, "margin", None)
        if service is None:
            raise HTTPException(501, "no margin service in this gateway ([margin] enabled = false)")
        result: dict[str, Any] = service.refresh()
        return result

    @app.post("/api/risk/kill-switch", tags=["risk"], dependencies=write, summary="Engage or clear a kill switch")
    def kill_switch(change: KillSwitchRequest) -> dict[str, Any]:
        controls = controls_or_501()

        def apply(_core: RouterCore, fx: Effects) -> RiskState:
            state: RiskState = controls.set_kill_switch(
                fx, scope=change.scope, target=change.target, engaged=change.engaged,
                cancel_open=change.cancel_open, actor=change.actor, reason=change.reason)
            return state

        try:
            state: RiskState = on_router(apply)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        log.warning("admin.kill_switch", scope=change.scope, target=change.target, engaged=change.engaged,
                    cancel_open=change.cancel_open, actor=change.actor, reason=change.reason)
        return _risk_json(state)

    @app.post("/api/risk/breakers/{name}/reset", tags=["risk"], dependencies=write, summary="Reset a breaker")
    def reset_breaker(name: str, change: BreakerResetRequest) -> dict[str, Any]:
        controls = controls_or_501()

        def apply(_core: RouterCore, fx: Effects) -> RiskState:
            state: RiskState = controls.reset_breaker(fx, name=name, actor=change.actor, reason=change.reason)
            return state

        try:
            state: RiskState = on_router(apply)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        log.warning("admin.breaker_reset", breaker=name, actor=change.actor, reason=change.reason)
        return _risk_json(state)

    @app.get("/api/prices", tags=["marketdata"], dependencies=read,
             summary="Reference price per instrument: its state and every source with bid/ask/mid/age")
    def reference_prices() -> dict[str, Any]:
        found = marketdata_view.prices(ops.gateway)
        if found is None:
            raise HTTPException(501, "no reference prices in this gateway")
        return found

    @app.get("/api/pnl", tags=["marketdata"], dependencies=read,
             summary="The day's P&L per account (totals, high-water mark, drawdown) and per instrument and venue")
    def pnl(account: str | None = None) -> dict[str, Any]:
        try:
            found = marketdata_view.pnl(ops.gateway, account)
        except RouterUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        if found is None:
            raise HTTPException(501, "no P&L in this gateway")
        return found

    @app.post("/api/reload", tags=["config"], dependencies=write, response_model=ReloadOut,
              summary="Re-read the configuration file (as SIGHUP does); all or nothing")
    def reload() -> JSONResponse:
        result = ops.reload()
        body = ReloadOut(applied=result.applied, changed=result.changed, reason=result.reason)
        return JSONResponse(body.model_dump(), status_code=200 if result.applied else 422)

    @app.get("/status", tags=["status"], response_class=HTMLResponse, summary="The operators' status page")
    def status(request: Request, token_param: Annotated[str | None, Query(alias="token")] = None) -> Response:
        if token_param is not None:
            return login("/status", token_param)
        reader(request)
        return HTMLResponse(render_status(_status_data(ops)))

    # ------------------------------------------------------------------ the live console

    @app.get("/console", tags=["console"], response_class=HTMLResponse, summary="The operators' live console")
    def console_page(request: Request, token_param: Annotated[str | None, Query(alias="token")] = None) -> Response:
        if token_param is not None:
            return login("/console", token_param)
        credential = reader(request)
        page = (STATIC / "console.html").read_text(encoding="utf-8")
        page = page.replace("{{name}}", escape(ops.config.name)).replace("{{role}}", "write" if credential.write
                                                                          else "read")
        page = page.replace("{{csrf}}", csrf_token(credential) if credential.write else "")
        return HTMLResponse(page, headers={"Cache-Control": "no-store", "Content-Security-Policy": CONSOLE_CSP})

    @app.get("/console/events", tags=["console"], dependencies=read,
             summary="Server-sent events: a `snapshot` every second (sessions, risk, alerts, recon, chart point)")
    async def console_events(request: Request) -> StreamingResponse:
        async def stream() -> Any:
            yield f"retry: 2000\nevent: scopes\ndata: {json.dumps(console.scopes())}\n\n"
            while not console.stopping.is_set() and not await request.is_disconnected():
                snapshot = await asyncio.to_thread(console.snapshot)
                yield f"event: snapshot\ndata: {json.dumps(snapshot)}\n\n"
                await asyncio.sleep(STREAM_EVERY_S)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.get("/api/console/history", tags=["console"], dependencies=read, summary="The charts' last hour")
    def console_history() -> list[dict[str, Any]]:
        return console.history_points()

    @app.get("/api/recon/runs/{run_id}", tags=["recon"], dependencies=read,
             summary="One reconciliation run's breaks (the report behind the console's recon panel)")
    def recon_run(run_id: str) -> dict[str, Any]:
        from fixgw.store.recon import ReconStore

        found = ReconStore(ops.gateway.journal).breaks(run_id)
        runs = [r for r in console.recon_runs() if r["run_id"] == run_id]
        if not found and not runs:
            raise HTTPException(404, f"no reconciliation run {run_id}")
        return {"run_id": run_id, "run": runs[0] if runs else None,
                "breaks": [{"category": b.category, "kind": b.kind, "ref": b.ref, "detail": b.detail,
                            "instrument": b.instrument_id, "settle_date": b.settle_date} for b in found]}

    @app.post("/console/actions", tags=["console"],
              summary="Set/clear a kill switch, reset a breaker, lift/restore a ramp (confirmed, audited)")
    async def console_action(request: Request) -> JSONResponse:
        client = _client(request)
        try:
            body = await request.json()
        except ValueError:
            body = None
        fields = body if isinstance(body, dict) else {}
        action, scope, operator = (str(fields.get(key, "")) for key in ("action", "scope", "operator"))
        credential = by_bearer(_credentials(request))
        via_cookie = credential is None  # a browser: the cookie is sent whoever made the page post
        if credential is None:
            credential = by_cookie(request)
        try:
            if credential is None:
                raise ActionRefused(401, "not logged in: bearer token or console cookie required")
            if not credential.write:
                raise ActionRefused(403, "this token is read-only")
            if via_cookie:
                _same_origin(request)
                sent = request.headers.get("x-csrf-token", "")
                if not hmac.compare_digest(sent.encode(), csrf_token(credential).encode()):
                    raise ActionRefused(403, "missing or stale CSRF token: reload the console")
            change = ControlRequest.parse(body)
            switch = await asyncio.to_thread(console.act, change, credential.tid)
        except ActionRefused as refused:
            await asyncio.to_thread(console.refused, action or "?", refused.reason, scope=scope, who=operator,
                                    tid=credential.tid if credential else "", client=client)
            return JSONResponse({"detail": refused.reason}, status_code=refused.status)
        return JSONResponse({"done": switch.describe(), "scope": switch.scope, "active": switch.active,
                             "who": switch.who})

    return app


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _same_origin(request: Request) -> None:
    """A browser names the page that sent a POST; one from another site is refused even with the cookie."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise ActionRefused(403, "cross-site request refused")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
        raise ActionRefused(403, f"cross-origin request from {origin} refused")


def _credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=value) if scheme.lower() == "bearer" else None


def _status_data(ops: "OpsRuntime") -> StatusData:
    ready, _ = ops.readiness()
    error = None
    try:
        book = ops.view.book()
        open_rows = ops.view.blotter(BlotterFilter(status="open", limit=50))
        by_status, open_orders, risk = book.by_status, book.open_orders, book.risk
    except RouterUnavailable as exc:
        open_rows, by_status, open_orders, risk, error = [], {}, None, None, str(exc)
    prices = marketdata_view.prices(ops.gateway)
    try:
        day = marketdata_view.pnl(ops.gateway)
    except RouterUnavailable:
        day = None
    return StatusData(name=ops.config.name, ready=ready, sessions=ops.view.sessions(), open_orders=open_orders,
                      by_status=by_status, open_rows=open_rows, refusals=list(ops.metrics.recent_refusals),
                      latency=ops.metrics.latency_quantiles(), risk=risk, risk_available=ops.view.controls is not None,
                      alerts=ops.firing_alerts(), refresh_s=ops.config.admin.status_refresh_s, error=error,
                      recon=ops.recon_board.rows(),
                      transfers=status_line(ops.gateway.journal),
                      prices=prices["instruments"] if prices else (), pnl=day["accounts"] if day else (),
                      margin=_margin_lines(ops), ha=_ha_line(ops))


def _margin_lines(ops: "OpsRuntime") -> list[str]:
    from fixgw.margin.report import status_lines
    from fixgw.margin.service import INTEREST_STATE, read_last

    return status_lines(read_last(ops.gateway.journal), read_last(ops.gateway.journal, INTEREST_STATE))


def _ha_line(ops: "OpsRuntime") -> str:
    if ops.ha_status is None:
        return ""
    node = ops.ha_status()
    return (f"HA node {node.get('node')} ({node.get('cluster')}): {node.get('role')}, epoch {node.get('epoch')}, "
            f"lease left {node.get('own_lease_left_s')} s, renewed {node.get('lease_age_s')} s ago, "
            f"standby lag {node.get('standby_lag_s')} s")


class AdminServer:
    """uvicorn in a daemon thread; `start()` returns once the socket listens (`port` is then the real port)."""

    def __init__(self, ops: "OpsRuntime") -> None:
        admin = ops.config.admin
        self.host = admin.host
        self.port = admin.port
        self.console = Console(ops)
        config = uvicorn.Config(create_app(ops, self.console), host=admin.host, port=admin.port, log_config=None,
                                access_log=False, lifespan="off", server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fixgw-admin", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.console.start()
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                why = ("its thread ended (see the log: address in use?)" if not self._thread.is_alive()
                       else f"not listening after {START_TIMEOUT_S:g} s")
                raise RuntimeError(f"admin server did not start on {self.host}:{self.port}: {why}")
            time.sleep(0.01)
        sockets = [sock for server in self._server.servers for sock in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("admin.started", url=self.url)

    def stop(self, timeout: float = 3.0) -> None:
        self.console.stop()  # ends the event streams, which uvicorn would otherwise wait for
        self._server.should_exit = True
        self._thread.join(timeout)


def _one_order(read: Callable[[str], Any], order_id: str) -> dict[str, Any]:
    """One order read from the journal: 404 when there is none, 503 when the journal cannot be read now."""
    try:
        found = read(order_id)
    except RouterUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    if found is None:
        raise HTTPException(404, f"no order {order_id}")
    return dict(found)
