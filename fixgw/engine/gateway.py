"""The gateway assembled from its configuration: journal, book recovery, router thread, QuickFIX sessions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import quickfix as qf
import structlog

from fixgw.config import GatewayConfig
from fixgw.engine.broker import BrokerApplication, FixBrokerVenue
from fixgw.engine.continuity import HaHooks
from fixgw.engine.dropcopy import DropCopyAcceptor, build_feed
from fixgw.engine.ems import EmsApplication
from fixgw.engine.heap import recovery_heap, release_collector, serving_collector
from fixgw.engine.observe import SessionState
from fixgw.engine.qflog import StructlogLogFactory
from fixgw.engine.quickfix_support import fields_to_message
from fixgw.engine.replay import ADMIN_SLACK, reports_to_replay, store_prefix, stored_keys
from fixgw.engine.runner import SENT_MARK_PREFIX, Runner
from fixgw.engine.security import new_acceptor, new_initiator, require_bindable_host, require_tls
from fixgw.engine.sessions import acceptor_settings, ensure_dirs, initiator_settings, session_id
from fixgw.engine.translator import SessionTranslator
from fixgw.fix.wire import parse_fix
from fixgw.logs import error_text
from fixgw.marketdata.fix_source import FixMarketData
from fixgw.model.enums import OrdStatus, TimeInForce
from fixgw.model.events import EventName
from fixgw.model.instruments import SymbolMaster
from fixgw.model.orders import NewOrder, utc_day_start, utc_now
from fixgw.model.state import Order
from fixgw.risk.control import RiskControl
from fixgw.router.book import OrderBook
from fixgw.router.core import EmsPolicy, PreTradeCheck, RouterCore
from fixgw.router.effects import Effects, OrderEventRecord
from fixgw.router.ids import IdFactory
from fixgw.router.routing import RouteTable
from fixgw.security.auth import authenticator_from_config
from fixgw.store.database import display_url
from fixgw.store.daybook import read_day_book
from fixgw.store.journal import Journal, JournalBatch, VenueWireRecord
from fixgw.venues.base import Venue
from fixgw.venues.bridge.common.wire import WireExchange, archive_every_client, stop_archiving
from fixgw.venues.fix_broker.plugin import KIND as FIX_BROKER_KIND
from fixgw.venues.plugin import BuildContext
from fixgw.venues.registry import build_venue

if TYPE_CHECKING:
    from fixgw.venues.bridge.common.alerts import VenueAlert
    from fixgw.venues.bridge.common.execution import RestExecutionClient

log = structlog.get_logger("fixgw.engine.gateway")

RECOVERY_WINDOW = timedelta(days=1)
CLEAN_STOP_KEY = "gateway.clean_stop"
"""Journal state: when the last run stopped cleanly (everything QuickFIX counted journaled); empty while running."""


class StartError(RuntimeError):
    """A start step failed: the message names what in one line (state dir, journal, acceptor host:port, ...)."""


@contextmanager
def starting(what: str) -> Iterator[None]:
    """Turn a failure of this step into a StartError naming `what` (QuickFIX's own errors print no cause)."""
    try:
        yield
    except StartError:
        raise
    except Exception as exc:
        raise StartError(f"{what}: {error_text(exc, innermost=True)}") from exc


TranslatorFactory = Callable[[str, str, SymbolMaster, Path], SessionTranslator]
"""(dialect name, begin string, symbol master, specs dir) -> the session's translator."""


def default_translator_factory(dialect: str, begin_string: str, symbols: SymbolMaster,
                               specs_dir: Path) -> SessionTranslator:
    from fixgw.engine.translation import DialectTranslator

    return DialectTranslator.create(dialect, begin_string, symbols, specs_dir)


class Gateway:
    def __init__(self, config: GatewayConfig, *, extra_venues: Mapping[str, Venue] | None = None,
                 checks: Sequence[PreTradeCheck] = (),
                 translator_factory: TranslatorFactory = default_translator_factory) -> None:
        self.config = config
        self._extra_venues = dict(extra_venues or {})
        self._checks = list(checks)
        self._translator_factory = translator_factory
        self.journal = Journal(config.journal_url, config.journal.sync)
        self.runner: Runner | None = None
        self.core: RouterCore | None = None
        self.venues: dict[str, Venue] = {}
        self._ems_ids: dict[str, qf.SessionID] = {}
        self._ems_begin: dict[str, str] = {}
        self._acceptor: qf.Acceptor | None = None
        self._initiator: qf.Initiator | None = None
        self._tls_initiators: list[qf.Initiator] = []
        """One TLS initiator per broker with `tls` (QuickFIX reads TLS settings per initiator)."""
        self.security = authenticator_from_config(config)
        """EMS logon authentication: credentials, source addresses, lockout, refusal counters."""
        self._ems_app: EmsApplication | None = None
        self._broker_app: BrokerApplication | None = None
        self._ems_settings: qf.SessionSettings | None = None
        self._dropcopy: DropCopyAcceptor | None = None
        self._own_venues: dict[str, Venue] = {}
        """Venues this gateway starts and stops itself (REST venues, extra venues); FIX brokers share the initiator."""
        self._started = False
        self._lock = threading.Lock()
        self.risk: RiskControl | None = None
        """Pre-trade risk: `.checks` (checks, counters, alerts) and the operator controls (fixgw/risk/control.py)."""
        self.recon: Any = None
        """Scheduled reconciliation (fixgw/recon/service.py ReconService) when `recon.enabled`."""
        self.ha: HaHooks | None = None
        """Set before start on an HA node that took the lease: session continuity and the send gate."""
        self.margin: Any = None
        """Collateral and margin (fixgw/margin/service.py MarginService) when `margin.enabled`."""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        config = self.config
        if config.acceptor.tls is not None or any(broker.tls for broker in config.brokers.values()):
            require_tls()  # before anything is opened: a clear error, not a half-started gateway
        if config.ems:
            require_bindable_host("acceptor.host", config.acceptor.host)
        for name, section in config.dropcopy.items():
            require_bindable_host(f"dropcopy.{name}.host", section.host)
        with starting(f"state dir {config.state_dir}"):
            config.state_dir.mkdir(parents=True, exist_ok=True)
            ensure_dirs(config)
        with starting(f"journal {display_url(self.journal.url)}"):
            self.journal.open()
        run_id = self.journal.allocate_run_id()
        clean_stop = self.journal.get_state(CLEAN_STOP_KEY)
        self.journal.write(JournalBatch(state={CLEAN_STOP_KEY: ""}))  # until this run stops cleanly: a crash
        symbols = SymbolMaster.from_toml(config.symbols_path.read_text(encoding="utf-8"))
        # Open orders whole; today's closed ones as ClOrdIDs and grouped fills; the rest of the record on demand
        # (restart time must not grow with history, nor with the day's volume more than it must).
        book = OrderBook(loader=self.journal.find_order)
        day_start = utc_day_start(utc_now())
        with recovery_heap():  # fixgw/engine/heap.py: the day's book is not garbage
            day = read_day_book(self.journal, day_start)
            book.load(day.orders)
            remembered = len(day.closed_keys)
            book.remember(day.closed_keys)
            self.risk = RiskControl(config, self.journal, book, day.closed_fills)
            book.on_recall = self.risk.checks.adopt
            del day
        ems_translators = {name: self._translator_factory(ems.dialect, ems.begin_string, symbols, config.specs_dir)
                      for name, ems in config.ems.items()}
        context = BuildContext(symbols, config.specs_dir, self._translator_factory, self._tap, self._wire,
                               send_gate=self.ha.may_send if self.ha is not None else None,
                               budgets_spent=self.ha is not None)  # HA: the old active may have just spent them
        archive_every_client(self._wire)  # the recon, margin and market-data readers' requests too
        brokers: dict[str, FixBrokerVenue] = {}
        for name, broker in config.brokers.items():
            venue = build_venue(FIX_BROKER_KIND, name, broker, context)
            assert isinstance(venue, FixBrokerVenue)
            brokers[name] = venue
        for name, source in config.marketdata.sources.items():
            if source.kind == "fix_broker" and source.venue in brokers:
                brokers[source.venue].market_data = FixMarketData(name, source.instruments,
                                                                  self.risk.checks.market.references)
        rest = {name: build_venue(section.kind, name, section, context) for name, section in config.venues.items()}
        self._own_venues = {**rest, **self._extra_venues}
        self.venues = {**brokers, **self._own_venues}
        self._adopt_open_orders(book)
        self._watch_not_placed()
        policies = {name: EmsPolicy(frozenset(ems.allowed_accounts), ems.cancel_on_disconnect,
                                    frozenset(ems.allowed_instruments), frozenset(ems.allowed_ord_types))
                    for name, ems in config.ems.items()}
        risk = self.risk.checks
        margin_checks: list[PreTradeCheck] = []
        if config.margin.enabled:
            self.margin = self._margin_service()
            margin_checks.append(self.margin.check)
        self.core = RouterCore(book=book, routes=RouteTable(config.routing), ids=IdFactory(run_id), symbols=symbols,
                               ems_policies=policies, is_connected=self._venue_connected,
                               checks=[risk.check, *margin_checks, *self._checks], replace_checks=[risk.check_replace],
                               observer=risk, max_unanswered=timedelta(seconds=config.risk.max_unanswered_s),
                               unknown_order_grace=timedelta(seconds=config.risk.unknown_order_grace_s),
                               alert=risk.alerts.raise_alert,
                               mass_status=self._venue_answers_mass_status)
        self.runner = Runner(self.core, self.journal, self.venues, ems_translators, self._send_to_ems,
                             max_batch=config.journal.max_batch)
        self.runner.dropcopy, self._dropcopy = build_feed(config, book, symbols, self.journal)
        for venue in self.venues.values():
            venue.bind(self.runner)
        for rest_venue in self._rest_venues().values():
            rest_venue.on_alert = self._venue_alert
        if self.ha is not None:
            self.runner.on_fenced = self.ha.on_fenced
            self.ha.before_engines(config.state_dir / "quickfix", self._ems_sessions(),
                                   [(name, venue.session_id) for name, venue in brokers.items()],
                                   [(name, session_id(s.begin_string, s.sender_comp_id, s.target_comp_id))
                                    for name, s in config.dropcopy.items()])
            if self._dropcopy is not None:
                self._dropcopy.recorder = self.ha.recorder.outgoing
        self.runner.start()
        self.risk.start(self.runner, self.core)
        log.info("gateway.recovered", run_id=run_id, orders=len(book), open_orders=len(book.open_orders()),
                 closed_clordids_remembered=remembered)
        if config.ems:
            for name, ems in config.ems.items():
                sid = session_id(ems.begin_string, ems.sender_comp_id, ems.target_comp_id)
                self._ems_ids[name] = sid
                self._ems_begin[name] = ems.begin_string
            settings = self._ems_settings = acceptor_settings(config)
            names = {sid.toString(): name for name, sid in self._ems_ids.items()}
            self._ems_app = EmsApplication(names, self.runner.submit_ems, self.runner.ems_session_changed,
                                           logon_check=self.security.check)
            # Not QuickFIX's FileLog: it writes Logon passwords in clear (fixgw/engine/qflog.py).
            log_factory = StructlogLogFactory("acceptor", names, self.security, messages=config.log.level == "DEBUG",
                                              recorder=self.ha.recorder.outgoing if self.ha else None)
            with starting(self._acceptor_name()):
                self._acceptor = new_acceptor(self._ems_app, settings, log_factory,
                                              tls=config.acceptor.tls is not None)
        if brokers:
            self._build_initiators(brokers)
        if clean_stop:
            log.info("gateway.sequences_kept", reason="clean stop", stopped_at=clean_stop)
        else:
            self._recover_sequences(brokers)
        if self.ha is not None:
            self.ha.gate(self._ems_app, self._broker_app, getattr(self._dropcopy, "_application", None))
        self._schedule_replays()
        for venue in self._own_venues.values():
            venue.start()
        # Our listening ports first: one taken fails the start before any broker got a Logon from us.
        if self._dropcopy is not None:
            ports = sorted({f"{s.host}:{s.port}" for s in config.dropcopy.values()})
            with starting(f"drop-copy acceptor {', '.join(ports)}"):
                self._dropcopy.start()
        if self._acceptor is not None:
            with starting(self._acceptor_name()):
                self._acceptor.start()
        for initiator in filter(None, [self._initiator, *self._tls_initiators]):
            with starting(f"broker sessions {', '.join(sorted(brokers))}"):
                initiator.start()
        self._started = True
        serving_collector()  # fixgw/engine/heap.py
        if config.recon.enabled:
            from fixgw.recon.service import ReconService  # APScheduler only loads when reconciliation runs here

            self.recon = ReconService(config, self.journal, claims=self.ha.jobs if self.ha is not None else None)
            self.recon.start()
        if self.margin is not None:
            self.margin.start()
        log.info("gateway.started", name=config.name, ems_sessions=len(config.ems), venues=sorted(self.venues),
                 acceptor=f"{config.acceptor.host}:{config.acceptor.port}")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop: no new EMS input, let the router finish, log out of brokers, close the journal."""
        stop_archiving(self._wire)
        if self.recon is not None:
            self.recon.stop()  # no new reconciliation job (a running one finishes on its thread)
            self.recon = None
        if self.margin is not None:
            self.margin.stop()
            self.margin = None
        if self.risk is not None:
            self.risk.stop()  # first: its poller calls into the router and reads the journal
        if not self._started:
            # A failed start may have started some of it (REST venues, acceptors): stop each (stopping what never
            # started does nothing) before dropping it - destroying a running QuickFIX engine ends in SIGSEGV.
            for engine in (self._acceptor, self._initiator, *self._tls_initiators):
                if engine is not None:
                    engine.stop()
            for venue in self._own_venues.values():
                venue.stop(timeout / 4)
            self._acceptor = self._initiator = None
            self._tls_initiators = []
            if self.runner is not None:
                self.runner.stop(1.0)
            if self._dropcopy is not None:
                self._dropcopy.stop()
            self.journal.close()
            release_collector()
            return
        self._started = False
        # Dropping the QuickFIX objects after stop() releases their sessions (QuickFIX unregisters a session
        # only when its acceptor/initiator is destroyed), so a new Gateway in this process can own them again.
        if self._acceptor is not None:
            self._acceptor.stop()
            self._acceptor = None
        if self.runner is not None:
            self.runner.drain(timeout / 2)
        if self._initiator is not None:
            self._initiator.stop()
            self._initiator = None
        for initiator in self._tls_initiators:
            initiator.stop()
        self._tls_initiators = []
        for venue in self._own_venues.values():
            venue.stop(timeout / 4)
        drained = False
        if self.runner is not None:
            drained = self.runner.drain(timeout / 4)  # journal what arrived while the sessions logged out
            self.runner.stop(timeout / 4)
        if self._dropcopy is not None:
            self._dropcopy.stop()  # last: copies of the final passes are stored for their clients
        if drained:  # every inbound message QuickFIX counted is journaled: the next start need not rewind
            self.journal.write(JournalBatch(state={CLEAN_STOP_KEY: utc_now().isoformat()}))
        self.journal.close()
        release_collector()
        log.info("gateway.stopped", name=self.config.name)

    def _margin_service(self) -> Any:
        """The margin service, valuing at the risk engine's reference prices and alerting through its sinks."""
        from fixgw.margin.service import MarginService, load_table
        from fixgw.risk.control import write_switch
        from fixgw.risk.switches import KILL, new_switch

        assert self.risk is not None
        engine = self.risk.checks
        journal = self.journal

        def price(asset: str, currency: str) -> Any:
            reference = engine._reference(f"{asset}/{currency}") or engine._reference(asset)   # BTC/USD; AAPL
            return None if reference is None else reference.value

        def alert(venue: str, message: str, detail: dict[str, str]) -> None:
            runner = self.runner
            if runner is not None:   # alert sinks run on the router thread
                runner.call(lambda _core, _fx: engine.alerts.raise_alert("margin", venue, message, **detail))

        def pause(venue: str, reason: str) -> None:
            write_switch(journal, new_switch(KILL, f"venue:{venue}", True, who="margin-drift", reason=reason))

        def venue_orders(venue: str, session: str, account: str, orders: list[Any]) -> None:
            runner = self.runner
            if runner is not None:
                runner.call(lambda core, fx: book_venue_orders(core, fx, venue, session, account, orders))

        return MarginService(self.config.margin, self.config.venues, journal, load_table(self.config.haircuts_path),
                             prices=price, alert=alert, pause=pause, venue_orders=venue_orders,
                             brokers={name: partial(self._venue, name) for name in self.config.brokers},
                             claims=self.ha.jobs if self.ha is not None else None)

    def _acceptor_name(self) -> str:
        return f"EMS acceptor {self.config.acceptor.host}:{self.config.acceptor.port}"

    def _build_initiators(self, brokers: Mapping[str, FixBrokerVenue]) -> None:
        """Build (not start) one initiator for the plain-TCP brokers and one per TLS broker."""
        config = self.config
        application = self._broker_app = BrokerApplication(dict(brokers))
        names = {venue.session_id.toString(): name for name, venue in brokers.items()}
        log_factory = StructlogLogFactory("initiator", names, messages=config.log.level == "DEBUG",
                                          recorder=self.ha.recorder.outgoing if self.ha else None)
        plain = {name: config.brokers[name] for name in brokers if config.brokers[name].tls is None}
        if plain:
            self._initiator = new_initiator(application, initiator_settings(config, plain), log_factory, tls=False)
        for name in brokers:
            tls = config.brokers[name].tls
            if tls is not None:
                settings = initiator_settings(config, {name: config.brokers[name]}, tls=tls)
                self._tls_initiators.append(new_initiator(application, settings, log_factory, tls=True))

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ crash recovery

    def _recover_sequences(self, brokers: Mapping[str, FixBrokerVenue]) -> None:
        """Expect again every inbound message QuickFIX counted but the journal never got (a crash in between).

        QuickFIX advances a session's expected MsgSeqNum when fromApp returns, before our group commit; after
        a crash we lower it to the last journaled inbound MsgSeqNum + 1, so the counterparty resends the rest
        (PossDup) at logon. Only today's journal counts, and the number only ever goes down.
        """
        since = utc_now() - RECOVERY_WINDOW
        sessions = [(name, sid) for name, sid in self._ems_ids.items()]
        sessions += [(name, venue.session_id) for name, venue in brokers.items()]
        for name, sid in sessions:
            session = qf.Session.lookupSession(sid)
            last = self.journal.last_seq_num(name, "in", since=since)
            if session is None or last is None:
                continue
            expected = int(session.getExpectedTargetNum())
            if last + 1 < expected:
                session.setNextTargetMsgSeqNum(last + 1)
                log.warning("gateway.sequence_rewound", session=name, journaled=last, quickfix_expected=expected)

    def _ems_sessions(self) -> list[tuple[str, qf.SessionID]]:
        return [(name, session_id(ems.begin_string, ems.sender_comp_id, ems.target_comp_id))
                for name, ems in self.config.ems.items()]

    def halt(self) -> None:
        """HA fencing: drop every FIX connection now, without a Logout (this node may send nothing more)."""
        for engine in (self._acceptor, self._initiator, *self._tls_initiators):
            if engine is not None:
                engine.stop(True)
        if self.runner is not None:
            self.runner.stop(1.0)
        if self._dropcopy is not None:
            self._dropcopy.stop()

    def _venue_alert(self, alert: VenueAlert) -> None:
        """A REST venue's alert (an order it holds that we do not know, low rate headroom): raised on the router
        thread through the alert sinks; an unknown venue order is journaled too (order id `venue:<name>`)."""
        runner, risk = self.runner, self.risk
        if runner is None or risk is None:
            return

        def raise_it(_core: RouterCore, fx: Effects) -> None:
            risk.checks.alerts.raise_alert(alert.kind, alert.scope, alert.message, venue=alert.venue, **alert.detail)
            if alert.kind == EventName.UNKNOWN_VENUE_ORDER:
                fx.events.append(OrderEventRecord(f"venue:{alert.venue}", EventName.UNKNOWN_VENUE_ORDER, "audit",
                                                  utc_now(), {"message": alert.message, **alert.detail}))

        runner.call(raise_it)

    def _rest_venues(self) -> dict[str, RestExecutionClient]:
        """The REST venues of this configuration (their client module loads with the first one)."""
        if not self._own_venues:
            return {}
        from fixgw.venues.bridge.common.execution import RestExecutionClient

        return {name: venue for name, venue in self._own_venues.items() if isinstance(venue, RestExecutionClient)}

    def _adopt_open_orders(self, book: OrderBook) -> None:
        """REST venues track orders in memory: hand each what the journal holds open there (they look it up)."""
        for name, venue in self._rest_venues().items():
            for order in book.open_orders(venue=name):
                if order.venue_cl_ord_id is None:
                    continue
                # A create not yet acknowledged may still commit: it settles from its last journaled change.
                sent_at = order.updated_at if order.status in (OrdStatus.PENDING_NEW, OrdStatus.UNKNOWN) else None
                try:
                    venue.adopt(_as_sent(order, order.venue_cl_ord_id), sent_at=sent_at)
                except ValueError as exc:
                    log.error("gateway.adopt_failed", venue=name, order_id=order.order_id, error=str(exc))

    def _watch_not_placed(self) -> None:
        """REST venues keep the orders they reported "not placed" in memory, watching a while for a late commit:
        hand each those still inside its watch horizon (journaled NOT_PLACED rows, their orders read by id), so one
        that turns up after a restart is adopted (found late), not swept as an unknown venue order."""
        rest = self._rest_venues()
        if not rest:
            return
        horizon = max(venue.late_watch_s for venue in rest.values())
        for order_id, rejected_at in self.journal.event_times(EventName.NOT_PLACED, since=utc_now() - horizon):
            order = self.journal.find_order(order_id=order_id)
            if order is None or order.status is not OrdStatus.REJECTED or order.venue not in rest \
                    or order.venue_cl_ord_id is None:
                continue  # found late already (re-opened), or not at a REST venue of this configuration
            try:
                rest[order.venue].watch_not_placed(_as_sent(order, order.venue_cl_ord_id), rejected_at=rejected_at)
            except ValueError as exc:
                log.error("gateway.adopt_failed", venue=order.venue, order_id=order.order_id, error=str(exc))

    def _schedule_replays(self) -> None:
        """Reports journaled after the last 'handed to QuickFIX' mark that QuickFIX's store lacks never left: hand
        them to QuickFIX now, before anything newer (the EMS gets them, 97=Y, by resend at its logon)."""
        assert self.runner is not None
        for name, sid in self._ems_ids.items():
            mark = self.journal.get_state(f"{SENT_MARK_PREFIX}{name}")
            since = datetime.fromisoformat(mark) + timedelta(microseconds=1) if mark else utc_now() - RECOVERY_WINDOW
            journaled = [parse_fix(record.raw)
                         for record in self.journal.recent_messages(session=name, direction="out", since=since)]
            if not journaled:
                continue
            stored = stored_keys(store_prefix(self._ems_store_dir(sid), sid), 2 * len(journaled) + ADMIN_SLACK)
            replay = [[*fields, (97, "Y")] for fields in reports_to_replay(journaled, stored)]
            emit = log.warning if replay else log.info
            emit("gateway.replay_scheduled", session=name, messages=len(replay), since=since.isoformat(),
                 already_stored=len(journaled) - len(replay), store_read=stored is not None)
            self.runner.replay_now(name, replay)

    def _ems_store_dir(self, sid: qf.SessionID) -> Path:
        assert self._ems_settings is not None
        return Path(self._ems_settings.get(sid).getString("FileStorePath"))

    # ------------------------------------------------------------------ state

    def _venue(self, name: str) -> Venue | None:
        return self.venues.get(name)

    def _venue_answers_mass_status(self, name: str) -> bool:
        venue = self.venues.get(name)
        return venue is not None and venue.supports_mass_status

    def _venue_connected(self, name: str) -> bool:
        venue = self.venues.get(name)
        return venue is not None and venue.connected

    def ems_logged_on(self) -> set[str]:
        return set(self._ems_app.logged_on) if self._ems_app else set()

    def venues_connected(self) -> dict[str, bool]:
        return {name: venue.connected for name, venue in self.venues.items()}

    def sessions(self) -> list[SessionState]:
        """Every configured session: EMS, FIX brokers, other venues and drop-copy clients, with next sequence numbers
        (any thread)."""
        logged_on = self.ems_logged_on()
        states = [_fix_state(name, "ems", self._ems_ids.get(name), name in logged_on) for name in self.config.ems]
        venues: dict[str, Venue | None] = {**dict.fromkeys(self.config.brokers), **self.venues}
        for name, venue in venues.items():
            if venue is None or isinstance(venue, FixBrokerVenue):
                sid = venue.session_id if venue is not None else None
                states.append(_fix_state(name, "broker", sid, venue is not None and venue.connected))
            else:
                states.append(SessionState(name, "venue", venue.connected))
        dropcopy = self._dropcopy
        for name in self.config.dropcopy:
            sid = dropcopy.session_id_of(name) if dropcopy is not None else None
            states.append(_fix_state(name, "dropcopy", sid, dropcopy is not None and name in dropcopy.logged_on))
        return states

    # ------------------------------------------------------------------ plumbing

    def _tap(self, session: str, direction: str, msg_type: str, fields: list[tuple[int, str]],
             text: str | None = None) -> None:
        if self.runner is not None:
            self.runner.tap(session, direction, msg_type, fields, text)

    def _wire(self, exchange: WireExchange) -> None:
        """A REST venue's request and answer (masked) into the wire archive, with the router's next commit."""
        if self.runner is not None:
            self.runner.wire(VenueWireRecord(
                exchange.venue, exchange.at, exchange.method, exchange.endpoint, exchange.path, exchange.status,
                exchange.latency_us, exchange.route, exchange.attempt,
                json.dumps({"request": exchange.request, "response": exchange.response}, ensure_ascii=False)))

    def _send_to_ems(self, session: str, fields: list[tuple[int, str]]) -> bool:
        sid = self._ems_ids.get(session)
        if sid is None:
            return False
        message = fields_to_message(fields, begin_string=self._ems_begin[session])
        try:
            qf.Session.sendToTarget(message, sid)  # False while logged out: stored all the same, resent at logon
        except qf.SessionNotFound:
            return False
        return True


def book_venue_orders(core: RouterCore, fx: Any, venue: str, session: str, account: str, orders: list[Any]) -> None:
    """Router thread: each listed order the router does not know is the venue's own (a liquidation): booked for
    the EMS session and filled as the venue reports; ours are left to their own reports."""
    from fixgw.model.enums import OrdType
    from fixgw.model.errors import UnknownSymbolError
    from fixgw.model.orders import Fill
    from fixgw.venues.bridge.coinbase_prime.mapping import SYMBOL_SCHEME

    for listed in orders:
        try:
            instrument = core.symbols.resolve(SYMBOL_SCHEME, listed.symbol, counterparty=venue)
        except UnknownSymbolError as exc:
            log.error("gateway.venue_order_unmapped", venue=venue, venue_order_id=listed.venue_order_id, error=str(exc))
            continue
        command = NewOrder(cl_ord_id=listed.client_order_id or listed.venue_order_id, instrument_id=instrument.id,
                           side=listed.side, order_qty=listed.quantity,
                           ord_type=OrdType.LIMIT if listed.limit_price is not None else OrdType.MARKET,
                           price=listed.limit_price, time_in_force=TimeInForce.IOC, account=account or None,
                           transact_time=utc_now())
        fills = [Fill(exec_id=f.fill_id, venue=venue, qty=f.quantity, price=f.price, time=f.time or utc_now(),
                      commission=f.commission) for f in listed.fills]
        core.on_venue_order(venue, session, command, listed.venue_order_id, fills,
                            f"placed by {venue} itself (e.g. a margin liquidation)", fx)


def _fix_state(name: str, role: str, sid: qf.SessionID | None, connected: bool) -> SessionState:
    session = qf.Session.lookupSession(sid) if sid is not None else None
    if session is None:
        return SessionState(name, role, connected)
    return SessionState(name, role, connected, int(session.getExpectedSenderNum()),
                        int(session.getExpectedTargetNum()))


def _as_sent(order: Order, venue_cl_ord_id: str) -> NewOrder:
    """The create a REST venue was sent for `order` (under our outbound id), for it to look up after a restart;
    never sent from here, so a GTD order (the book keeps no expire time) is tracked as GTC."""
    tif = TimeInForce.GTC if order.time_in_force is TimeInForce.GTD else order.time_in_force
    return NewOrder(cl_ord_id=venue_cl_ord_id, instrument_id=order.instrument_id, side=order.side,
                    order_qty=order.order_qty, ord_type=order.ord_type, price=order.price, stop_price=order.stop_price,
                    time_in_force=tif, account=order.account, transact_time=order.created_at)
