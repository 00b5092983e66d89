"""A venue kind is one plugin: registered once, its section is validated, built, checked, summarised,
reconciled and measured through its hooks - nothing else in the gateway names it (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest

import fixgw
from fixgw.config import ConfigError, parse_config
from fixgw.configcheck import deep_check, summarize
from fixgw.model.enums import AssetClass, Side
from fixgw.model.instruments import Instrument, SymbolMaster
from fixgw.model.orders import CancelOrder, NewOrder, ReplaceOrder, StatusRequest
from fixgw.ops.live import LiveCollector, venue_statistics
from fixgw.recon.rest_source import RestSource
from fixgw.recon.sources import ReconWindow, SourceError
from fixgw.secretref import Secret
from fixgw.store.journal import Journal
from fixgw.store.recon import ReconStore
from fixgw.venues.base import Venue, VenueListener
from fixgw.venues.bridge.common.ratelimit import RateLimitUsage
from fixgw.venues.bridge.common.views import VenueFill
from fixgw.venues.plugin import (
    BuildContext,
    ListedOrder,
    VenueBalances,
    VenuePlugin,
    VenueReadError,
    VenueSection,
    VenueStats,
)
from fixgw.venues.registry import build_venue, plugins, register, unregister

BTC = Instrument(id="BTC/USD", asset_class=AssetClass.CRYPTO_SPOT, currency="USD", base_currency="BTC",
                 tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"), symbols={"paper": "BTCUSD"})
SYMBOLS = SymbolMaster([BTC])
DAY = date(2026, 3, 2)
START = datetime(2026, 3, 2, tzinfo=UTC)


class PaperSection(VenueSection):
    kind: Literal["paper"]
    api_key: Secret
    desk: str = "main"


class PaperVenue(Venue):
    def __init__(self, name: str) -> None:
        self.name = name
        self.symbol_scheme = "paper"

    @property
    def connected(self) -> bool:
        return True

    def bind(self, listener: VenueListener) -> None: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def send_new(self, order: NewOrder) -> None: ...

    def send_cancel(self, cancel: CancelOrder) -> None: ...

    def send_replace(self, replace: ReplaceOrder) -> None: ...

    def send_status_request(self, request: StatusRequest) -> None: ...


class PaperRecord:
    """The venue's own record: one filled order we never sent, and its balances."""

    def __init__(self, desk: str = "main") -> None:
        self.desk = desk
        self.closed = False

    async def fills(self, venue_order_id: str, client_order_id: str, instrument: Instrument) -> list[VenueFill]:
        return [VenueFill("T-1", Decimal("0.5"), Decimal("60000"), time=START + timedelta(hours=1))]

    async def listed_orders(self, start: datetime, end: datetime) -> list[ListedOrder]:
        return [ListedOrder("P-1", "theirs-1", BTC, Side.BUY)]

    async def balances(self) -> VenueBalances:
        if self.desk == "closed":
            raise VenueReadError("balances: 503 desk closed")
        return VenueBalances({"BTC": Decimal("0.5")}, {})

    async def aclose(self) -> None:
        self.closed = True


def _stats(venue: Venue) -> VenueStats:
    usage = RateLimitUsage(venue.name, "orders", 10.0, 20.0, 7.0, 0, 13, 0.25, 1)
    return VenueStats(venue.name, usage, requests=13, retries=2, unknown_outcomes=0, clock_offset_s=0.0)


def _check(name: str, section: PaperSection, symbols: SymbolMaster | None) -> list[tuple[str, str]]:
    return [(f"venues.{name}.desk", "the paper desk is closed")] if section.desk == "closed" else []


PAPER = VenuePlugin(
    "paper", PaperSection, build=lambda name, section, context: PaperVenue(name),
    check=_check, summary=lambda section: f"paper venue {section.name} for desk {section.desk}",
    recon_reader=lambda section, symbols: PaperRecord(section.desk), stats=_stats)


@pytest.fixture
def paper(monkeypatch: pytest.MonkeyPatch) -> Iterator[VenuePlugin]:
    monkeypatch.setenv("T_PAPER_KEY", "paper-secret")
    register(PAPER)
    try:
        yield PAPER
    finally:
        unregister("paper")


def config(**section: Any) -> Any:
    return parse_config({"ems": {"ems-a": {"target_comp_id": "EMS-A"}},
                         "venues": {"pp": {"kind": "paper", "api_key": "env:T_PAPER_KEY", **section}},
                         "routing": {"default": "pp"}})


def test_a_registered_kind_is_validated_by_its_own_model(paper: VenuePlugin) -> None:
    loaded = config()
    section = loaded.venues["pp"]
    assert isinstance(section, PaperSection) and section.name == "pp" and section.kind == "paper"
    assert section.api_key.get_secret_value() == "paper-secret" and "paper-secret" not in repr(loaded)
    with pytest.raises(ConfigError) as raised:
        config(bogus=1)
    assert dict(raised.value.problems) == {"venues.pp.bogus": "unknown key (not a setting)"}


def test_an_unregistered_kind_is_an_error_at_its_key() -> None:
    assert "paper" not in plugins()
    with pytest.raises(ConfigError) as raised:
        config()
    found = dict(raised.value.problems)
    assert "unknown venue kind 'paper'" in found["venues.pp"] and "coinbase_prime" in found["venues.pp"]


def test_the_builder_check_and_summary_hooks_serve_the_kind(paper: VenuePlugin) -> None:
    loaded = config(desk="closed")
    venue = build_venue("paper", "pp", loaded.venues["pp"], BuildContext(SYMBOLS))
    assert isinstance(venue, PaperVenue) and venue.name == "pp" and venue.kind == "paper"
    assert ("venues.pp.desk", "the paper desk is closed") in deep_check(loaded)
    assert "  paper venue pp for desk closed" in summarize(loaded)


def test_reconciliation_reads_the_kind_through_its_recon_reader(paper: VenuePlugin, tmp_path: Path) -> None:
    journal = Journal(f"sqlite:///{tmp_path / 'journal.db'}")
    journal.open()
    try:
        source = RestSource(config().venues["pp"], SYMBOLS, ReconStore(journal))
        side = source.load(ReconWindow("pp", DAY, "UTC", START, START + timedelta(days=1)))
        assert [(t.trade_id, t.instrument_id, t.side, t.qty, t.order_ref) for t in side.trades] == [
            ("T-1", "BTC/USD", Side.BUY, Decimal("0.5"), "P-1")]
        assert source.balances().total == {"BTC": Decimal("0.5")}
        with pytest.raises(SourceError, match="pp: balances: 503 desk closed"):
            RestSource(config(desk="closed").venues["pp"], SYMBOLS, ReconStore(journal)).balances()
    finally:
        journal.close()


def test_the_metrics_read_the_kind_through_its_stats_hook(paper: VenuePlugin) -> None:
    venue = build_venue("paper", "pp", config().venues["pp"], BuildContext(SYMBOLS))
    assert [stats.requests for stats in venue_statistics({"pp": venue})] == [13]
    families = {family.name: family for family in LiveCollector._bridge(venue_statistics({"pp": venue}))}
    assert [(s.labels, s.value) for s in families["fixgw_venue_http_requests"].samples] == [({"venue": "pp"}, 13)]


def test_no_module_outside_venues_names_a_venue_kind() -> None:
    """Adding a kind touches its own folder and the registry line: the rest of the gateway asks the plugin."""
    package = Path(fixgw.__file__).resolve().parent
    kinds = {kind for kind in plugins() if kind != "fix"}
    allowed = ("venues", "sim", "bench")  # the simulators and the bench play the venues
    named: list[str] = []
    for path in package.rglob("*.py"):
        if path.relative_to(package).parts[0] in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in kinds:
                named.append(f"{path.relative_to(package)}:{node.lineno} {node.value}")
    assert named == []


_LOADED_KINDS = """
import sys
from fixgw.config import parse_config

def loaded():
    return sorted({name.split(".")[3] for name in sys.modules
                   if name.startswith("fixgw.venues.bridge.") and name.split(".")[3] != "common"})

parse_config({"ems": {"e": {"target_comp_id": "E"}}})
print(loaded())
parse_config({"ems": {"e": {"target_comp_id": "E"}},
              "venues": {"bn": {"kind": "binance", "api_key": "env:T_KEY", "secret_key": "env:T_SECRET"}}})
print(loaded())
from fixgw.venues.registry import plugins
plugins()
print(loaded())
"""


def test_a_gateway_imports_the_adapters_of_the_kinds_it_is_configured_with_only() -> None:
    """Restart time: a built-in kind's module loads the first time the kind is asked for; plugins() loads all."""
    root = Path(fixgw.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "T_KEY": "k", "T_SECRET": "s"}
    done = subprocess.run([sys.executable, "-c", _LOADED_KINDS], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "['binance']", "['binance', 'clear_street', 'coinbase_prime', 'falconx']"]
