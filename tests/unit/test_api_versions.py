"""Several API versions of one venue: the per-endpoint router, and FalconX's `api_versions` settings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fixgw.cli import main
from fixgw.config import ConfigError, parse_config
from fixgw.configcheck import summarize
from fixgw.ops.live import _api_versions
from fixgw.venues.bridge.common.errors import VenueNotFound, VenueRejected, VenueUnknown
from fixgw.venues.bridge.common.ratelimit import RateLimitUsage
from fixgw.venues.bridge.common.versions import ApiVersionRouter, ApiVersionStats
from fixgw.venues.plugin import VenueStats

PUBLISHED = {"create_order": ("v3", "v1"), "get_order": ("v1",)}


class Venue:
    """Answers per (endpoint, version): a status to refuse with, or the version's name as the answer."""

    def __init__(self, refusals: dict[tuple[str, str], int] | None = None) -> None:
        self.refusals = dict(refusals or {})
        self.asked: list[tuple[str, str]] = []

    def send(self, endpoint: str) -> Any:
        async def send(version: str) -> str:
            self.asked.append((endpoint, version))
            status = self.refusals.get((endpoint, version))
            if status == 404:
                raise VenueNotFound("fx", "Not Found", http_status=404)
            if status is not None:
                raise VenueRejected("fx", f"HTTP {status}", http_status=status)
            return version
        return send


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def router(clock: Clock | None = None) -> ApiVersionRouter:
    return ApiVersionRouter("fx", PUBLISHED, recheck_s=60, clock=clock or Clock())


async def test_each_endpoint_goes_to_the_first_listed_version_publishing_it() -> None:
    versions, venue = router(), Venue()
    assert await versions.call("create_order", ["v3", "v1"], venue.send("create_order")) == "v3"
    assert await versions.call("create_order", ["v1", "v3"], venue.send("create_order")) == "v1"
    assert await versions.call("create_order", "v1", venue.send("create_order")) == "v1"  # a bare name
    # get_order exists under v1 only: called there even for a list preferring v3, or naming v3 alone.
    assert await versions.call("get_order", ["v3", "v1"], venue.send("get_order")) == "v1"
    assert await versions.call("get_order", ["v3"], venue.send("get_order")) == "v1"
    assert venue.asked == [("create_order", "v3"), ("create_order", "v1"), ("create_order", "v1"),
                           ("get_order", "v1"), ("get_order", "v1")]
    assert versions.stats().calls == {("create_order", "v3"): 1, ("create_order", "v1"): 2, ("get_order", "v1"): 2}


@pytest.mark.parametrize("status", [404, 410])
async def test_a_withdrawn_version_falls_back_and_is_skipped_until_the_recheck(status: int) -> None:
    clock = Clock()
    versions, venue = router(clock), Venue({("create_order", "v3"): status})
    for _ in range(3):
        assert await versions.call("create_order", ["v3", "v1"], venue.send("create_order")) == "v1"
    assert venue.asked == [("create_order", "v3"), ("create_order", "v1"), ("create_order", "v1"),
                           ("create_order", "v1")]
    stats = versions.stats()
    assert stats.withdrawn == {("create_order", "v3"): status}
    assert stats.fallbacks == {("create_order", "v3", "v1"): 1}
    # After recheck_s the preferred version is asked again; it serves again, so it is used from then on.
    venue.refusals.clear()
    clock.now += 60
    venue.asked.clear()
    assert await versions.call("create_order", ["v3", "v1"], venue.send("create_order")) == "v3"
    assert await versions.call("create_order", ["v3", "v1"], venue.send("create_order")) == "v3"
    assert venue.asked == [("create_order", "v3")] * 2
    assert versions.stats().withdrawn == {}


async def test_a_version_still_withdrawn_at_the_recheck_is_skipped_again() -> None:
    clock = Clock()
    versions, venue = router(clock), Venue({("create_order", "v3"): 410})
    await versions.call("create_order", ["v3", "v1"], venue.send("create_order"))
    clock.now += 61
    venue.asked.clear()
    assert await versions.call("create_order", ["v3", "v1"], venue.send("create_order")) == "v1"
    assert await versions.call("create_order", ["v3", "v1"], venue.send("create_order")) == "v1"
    assert venue.asked == [("create_order", "v3"), ("create_order", "v1"), ("create_order", "v1")]


async def test_a_single_listed_version_has_nothing_to_fall_back_to() -> None:
    versions, venue = router(), Venue({("create_order", "v1"): 410})
    with pytest.raises(VenueRejected) as refused:
        await versions.call("create_order", ["v1"], venue.send("create_order"))
    assert refused.value.http_status == 410 and venue.asked == [("create_order", "v1")]


async def test_other_refusals_and_unknown_outcomes_never_go_to_another_version() -> None:
    versions = router()
    asked: list[str] = []

    async def bad_request(version: str) -> str:
        asked.append(version)
        raise VenueRejected("fx", "bad quantity", http_status=400)

    async def timed_out(version: str) -> str:
        asked.append(version)
        raise VenueUnknown("fx", "ReadTimeout after sending")

    with pytest.raises(VenueRejected):
        await versions.call("create_order", ["v3", "v1"], bad_request)
    with pytest.raises(VenueUnknown):  # the create may have happened: it is looked up, never resent elsewhere
        await versions.call("create_order", ["v3", "v1"], timed_out)
    assert asked == ["v3", "v3"] and versions.stats().withdrawn == {}


async def test_a_lookup_404_is_the_thing_missing_unless_another_version_finds_it() -> None:
    published = {"execute_quote": ("v3", "v1")}
    versions = ApiVersionRouter("fx", published, recheck_s=60, clock=Clock())
    missing = Venue({("execute_quote", "v3"): 404, ("execute_quote", "v1"): 404})
    with pytest.raises(VenueNotFound):
        await versions.call("execute_quote", ["v3", "v1"], missing.send("execute_quote"), lookup=True)
    assert versions.stats().withdrawn == {}  # no such quote: both versions serve the endpoint
    withdrawn = Venue({("execute_quote", "v3"): 404})
    assert await versions.call("execute_quote", ["v3", "v1"], withdrawn.send("execute_quote"), lookup=True) == "v1"
    assert versions.stats().withdrawn == {("execute_quote", "v3"): 404}
    assert versions.stats().fallbacks == {("execute_quote", "v3", "v1"): 1}


def test_the_metrics_show_calls_fallbacks_and_withdrawn_versions() -> None:
    usage = RateLimitUsage("fx", "k", Decimal(1), 1.0, 1.0, 0, 0, 0.0, 0)  # type: ignore[arg-type]
    stats = VenueStats("fx", usage, 0, 0, 0, 0.0, api_versions=ApiVersionStats(
        calls={("create_order", "v1"): 3}, fallbacks={("create_order", "v3", "v1"): 1},
        withdrawn={("create_order", "v3"): 410}))
    families = {family.name: family for family in _api_versions([stats])}
    samples = {name: [(s.labels, s.value) for s in family.samples] for name, family in families.items()}
    assert samples["fixgw_venue_api_calls"][0] == (
        {"venue": "fx", "endpoint": "create_order", "version": "v1"}, 3)
    assert samples["fixgw_venue_api_fallbacks"][0] == (
        {"venue": "fx", "endpoint": "create_order", "from_version": "v3", "to_version": "v1"}, 1)
    assert samples["fixgw_venue_api_version_withdrawn"] == [
        ({"venue": "fx", "endpoint": "create_order", "version": "v3"}, 410)]


# ------------------------------------------------------------------------------------------ configuration

FALCONX = {"kind": "falconx", "api_key": "env:T_KEY", "passphrase": "env:T_PASS", "secret": "env:T_SECRET"}


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("T_KEY", "T_PASS", "T_SECRET"):
        monkeypatch.setenv(name, "c2VjcmV0")


def venue(**section: Any) -> Any:
    return parse_config({"ems": {"ems-a": {"target_comp_id": "EMS-A"}},
                         "venues": {"fx": {**FALCONX, **section}}}).venues["fx"]


def problems(**section: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as raised:
        venue(**section)
    return dict(raised.value.problems)


def test_api_versions_default_to_v3_then_v1_and_accounts_have_their_own() -> None:
    assert venue().venue_api_versions == ("v3", "v1")
    fx = venue(api_versions=["v1"], accounts={"HF-NEW": {"api_versions": ["v3", "v1"]}})
    assert fx.venue_api_versions == ("v1",)
    assert fx.api_versions_for("HF-NEW") == ("v3", "v1")
    assert fx.api_versions_for("HF-OLD") == fx.api_versions_for(None) == ("v1",)


def test_bad_version_lists_are_named_by_their_key() -> None:
    assert problems(api_versions=[]) == {"venues.fx.api_versions": "empty: list at least one API version (v3, v1)"}
    found = problems(api_versions=["v3", "v2"], accounts={"A1": {"api_versions": []}, "A2": {"api_versions": ["v4"]},
                                                        "A3": {"versions": ["v1"]}})
    assert found["venues.fx.api_versions"] == "unknown API version 'v2': FalconX has v3, v1"
    assert "empty" in found["venues.fx.accounts.A1.api_versions"]
    assert "unknown API version 'v4'" in found["venues.fx.accounts.A2.api_versions"]
    assert found["venues.fx.accounts.A3.versions"] == "unknown key (not a setting)"
    twice = problems(api_versions=["v1", "v1"])
    assert "twice" in twice["venues.fx.api_versions"]


def test_order_api_is_a_deprecated_alias_and_may_not_be_mixed_with_api_versions(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert venue(order_api="v3").venue_api_versions == ("v3", "v1")
    assert venue(order_api="v1").venue_api_versions == ("v1",)
    found = problems(order_api="v1", api_versions=["v3"])
    assert list(found) == ["venues.fx.order_api"]
    assert "keep only api_versions" in next(iter(found.values()))
    path = tmp_path / "gw.toml"
    path.write_text(f'state_dir = "{tmp_path}"\n[ems.ems-a]\ntarget_comp_id = "EMS-A"\n'
                    '[venues.fx]\nkind = "falconx"\napi_key = "env:T_KEY"\npassphrase = "env:T_PASS"\n'
                    'secret = "env:T_SECRET"\norder_api = "v1"\n'
                    '[venues.fx.accounts.HF-NEW]\napi_versions = ["v3", "v1"]\n')
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "API versions v1 (accounts HF-NEW: v3 > v1)" in out
    assert 'warning: venues.fx.order_api is deprecated: write api_versions = ["v1"]' in out
    lines = summarize(parse_config({"ems": {"ems-a": {"target_comp_id": "EMS-A"}},
                                    "venues": {"fx": {**FALCONX, "api_versions": ["v3", "v1"]}}}))
    assert any(line.endswith("API versions v3 > v1") for line in lines)
    assert not any("deprecated" in line for line in lines)


def test_building_a_venue_with_order_api_logs_the_deprecation() -> None:
    from structlog.testing import capture_logs

    from fixgw.model.instruments import SymbolMaster
    from fixgw.venues.bridge.falconx.plugin import _client

    with capture_logs() as logs:
        built = _client(venue(order_api="v1", base_url="http://127.0.0.1:1"), SymbolMaster([]))
        quiet = _client(venue(api_versions=["v1"], base_url="http://127.0.0.1:1"), SymbolMaster([]))
    warned = [entry for entry in logs if entry["event"] == "bridge_config_deprecated"]
    assert [(w["key"], w["instead"]) for w in warned] == [("venues.fx.order_api", 'api_versions = ["v1"]')]
    assert built.adapter.config.venue_api_versions == quiet.adapter.config.venue_api_versions == ("v1",)


def test_check_config_names_a_migrated_account_no_ems_session_may_send(tmp_path: Path) -> None:
    from fixgw.configcheck import deep_check

    def checked(allowed: list[str]) -> list[tuple[str, str]]:
        loaded = parse_config({"state_dir": str(tmp_path),
                               "ems": {"ems-a": {"target_comp_id": "EMS-A", "allowed_accounts": allowed}},
                               "venues": {"fx": {**FALCONX, "accounts": {"HF-ALHPA": {"api_versions": ["v3"]}}}}})
        return [(key, reason) for key, reason in deep_check(loaded) if key.startswith("venues.fx.accounts")]

    assert checked(["HF-ALPHA", "HF-BETA"]) == [
        ("venues.fx.accounts.HF-ALHPA",
         "no EMS session may send account 'HF-ALHPA' (allowed: ['HF-ALPHA', 'HF-BETA'])")]
    assert checked(["HF-ALHPA"]) == []
    assert checked([]) == []  # a session taking any account: nothing to compare with
