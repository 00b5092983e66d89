"""The admin HTTP server: FastAPI on uvicorn in its own thread, 127.0.0.1 by default, bearer-token protected.

Open: `/healthz`, `/readyz` (status only) and `/openapi.json`. Everything else needs `Authorization: Bearer
<token>`; the status page may instead be opened once with `?token=...`, which sets a read-only cookie
(SameSite=Strict, an HMAC of the token, never the token) and redirects to the bare URL. Controls (POST) take
the bearer header only. The book is read through router-thread snapshots (`GatewayView`).
"""

# No `from __future__ import annotations`: FastAPI resolves the dependencies below (closures) at definition.
import hashlib
import hmac
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import structlog
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from fixgw import __version__
from fixgw.ops import marketdata as marketdata_view
from fixgw.ops.controls import RiskState
from fixgw.ops.status_page import StatusData, render_status
from fixgw.ops.view import BlotterFilter, RouterUnavailable, call_on_router
from fixgw.recon.transfers.status import status_line
from fixgw.router.core import RouterCore
from fixgw.router.effects import Effects

if TYPE_CHECKING:
    from fixgw.ops.runtime import OpsRuntime

log = structlog.get_logger("fixgw.ops.admin")

COOKIE = "fixgw_status"
START_TIMEOUT_S = 10.0


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


def create_app(ops: "OpsRuntime") -> FastAPI:
    admin = ops.config.admin
    assert admin.token is not None
    token = admin.token.get_secret_value()
    cookie_value = hmac.new(token.encode(), b"fixgw status page", hashlib.sha256).hexdigest()
    bearer = HTTPBearer(auto_error=False, description="The admin token ([admin] token)")
    app = FastAPI(title="fixgw admin API", version=__version__, docs_url=None, redoc_url=None,
                  description="Health, readiness, metrics, sessions, the order blotter and risk controls.")

    def _bearer_ok(credentials: HTTPAuthorizationCredentials | None) -> bool:
        return credentials is not None and hmac.compare_digest(credentials.credentials.encode(), token.encode())

    def write_access(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if not _bearer_ok(credentials):
            raise HTTPException(401, "bearer token required", headers={"WWW-Authenticate": "Bearer"})

    def read_access(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if _bearer_ok(credentials):
            return
        if hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), cookie_value.encode()):
            return
        raise HTTPException(401, "bearer token required", headers={"WWW-Authenticate": "Bearer"})

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

    @app.get("/api/orders", tags=["orders"], dependencies=read, summary="The order blotter, newest first")
    def orders(status: Annotated[str | None, Query(description='status name (FILLED, ...) or "open"')] = None,
               ems_session: str | None = None, venue: str | None = None, account: str | None = None,
               instrument: str | None = None, cl_ord_id: str | None = None,
               limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[dict[str, Any]]:
        query = BlotterFilter(status, ems_session, venue, account, instrument, cl_ord_id, limit)
        try:
            return ops.view.blotter(query)
        except RouterUnavailable as exc:
            raise HTTPException(503, str(exc)) from None

    @app.get("/api/orders/{order_id}", tags=["orders"], dependencies=read)
    def order(order_id: str) -> dict[str, Any]:
        try:
            found = ops.view.order(order_id)
        except RouterUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        if found is None:
            raise HTTPException(404, f"no order {order_id}")
        return found

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
            if not hmac.compare_digest(token_param.encode(), token.encode()):
                raise HTTPException(401, "wrong token")
            redirect = RedirectResponse("/status", status_code=303)
            redirect.set_cookie(COOKIE, cookie_value, httponly=True, samesite="strict", path="/")
            return redirect
        read_access(request, _credentials(request))
        return HTMLResponse(render_status(_status_data(ops)))

    return app


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
            f"lease left {node.get('own_lease_left_s')} s, renewed {node.get('lease_age_s')} s ago")


class AdminServer:
    """uvicorn in a daemon thread; `start()` returns once the socket listens (`port` is then the real port)."""

    def __init__(self, ops: "OpsRuntime") -> None:
        admin = ops.config.admin
        self.host = admin.host
        self.port = admin.port
        config = uvicorn.Config(create_app(ops), host=admin.host, port=admin.port, log_config=None,
                                access_log=False, lifespan="off", server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fixgw-admin", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
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
        self._server.should_exit = True
        self._thread.join(timeout)
