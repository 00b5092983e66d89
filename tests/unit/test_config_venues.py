"""`venues.<name>`: REST prime brokers in the gateway config - a union on `kind`, secrets as references, routable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixgw.cli import main
from fixgw.config import ConfigError, parse_config
from fixgw.configcheck import deep_check, summarize
from fixgw.demo import CRYPTO_CREDENTIAL_ENV, DEMO_CONFIG
from fixgw.venues.bridge.binance.plugin import BinanceSection
from fixgw.venues.bridge.coinbase_prime.plugin import CoinbasePrimeSection
from fixgw.venues.bridge.falconx.plugin import FalconXSection


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("T_KEY", "T_PASS", "T_SECRET"):
        monkeypatch.setenv(name, f"value-of-{name}")
    monkeypatch.delenv("T_MISSING", raising=False)


COINBASE = {"kind": "coinbase_prime", "base_url": "https://api.prime.coinbase.com", "portfolio_id": "pf-1",
            "access_key": "env:T_KEY", "passphrase": "env:T_PASS", "signing_key": "env:T_SECRET"}
FALCONX = {"kind": "falconx", "api_key": "env:T_KEY", "passphrase": "env:T_PASS", "secret": "env:T_SECRET"}
BINANCE = {"kind": "binance", "api_key": "env:T_KEY", "secret_key": "env:T_SECRET"}


def config(venues: dict[str, Any], **extra: Any) -> Any:
    return parse_config({"ems": {"ems-a": {"target_comp_id": "EMS-A"}}, "venues": venues, **extra})


def problems(venues: dict[str, Any], **extra: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as raised:
        config(venues, **extra)
    return dict(raised.value.problems)


def test_each_kind_builds_its_venue_config_named_by_its_key() -> None:
    loaded = config({"cbp": COINBASE, "fx": FALCONX, "bn": BINANCE})
    assert isinstance(loaded.venues["cbp"], CoinbasePrimeSection)
    assert isinstance(loaded.venues["fx"], FalconXSection)
    assert isinstance(loaded.venues["bn"], BinanceSection)
    assert [venue.name for venue in loaded.venues.values()] == ["cbp", "fx", "bn"]
    cbp = loaded.venues["cbp"]
    assert cbp.access_key.get_secret_value() == "value-of-T_KEY"  # type: ignore[attr-defined]
    assert "value-of" not in repr(loaded) and "value-of" not in str(cbp)
    assert cbp.day_orders == "reject"


def test_unknown_kind_and_missing_kind_are_errors_at_the_venue_key() -> None:
    found = problems({"kr": {**COINBASE, "kind": "kraken"}, "none": {"base_url": "https://x"}})
    assert "kraken" in found["venues.kr"] and "coinbase_prime" in found["venues.kr"]
    assert "kind" in found["venues.none"]


def test_a_missing_secret_is_named_by_its_key() -> None:
    found = problems({"cbp": {**COINBASE, "passphrase": "env:T_MISSING"}})
    assert found == {"venues.cbp.passphrase": "environment variable T_MISSING is not set"}


def test_unknown_keys_and_bad_day_policy_are_errors() -> None:
    found = problems({"cbp": {**COINBASE, "portfolio": "typo", "day_orders": "as_day"}})
    assert set(found) == {"venues.cbp.portfolio", "venues.cbp.day_orders"}


def test_routing_accepts_rest_venue_names_and_rejects_unknown_ones() -> None:
    routed = config({"crypto": COINBASE}, routing={
        "rules": [{"name": "c", "match": {"asset_class": ["crypto_spot"]}, "destination": "crypto"}],
        "default": "crypto"})
    assert routed.routing.destinations() == {"crypto"}
    found = problems({"crypto": COINBASE}, routing={"default": "cryptoo"})
    assert "unknown venue 'cryptoo'" in found["routing.default"]


def test_a_venue_may_not_share_a_name_with_a_broker_or_rename_itself() -> None:
    found = problems({"equities": COINBASE}, brokers={"equities": {"target_comp_id": "B", "port": 9000}})
    assert "broker" in found["venues.equities"]
    found = problems({"cbp": {**COINBASE, "name": "other"}})
    assert any("section key" in reason for reason in found.values())


def test_deep_check_wants_http_urls_and_symbols_for_the_venue(tmp_path: Path) -> None:
    loaded = config({"cbp": {**COINBASE, "base_url": "ftp://x"}, "fx": FALCONX}, state_dir=str(tmp_path))
    assert dict(deep_check(loaded)) == {"venues.cbp.base_url": "not an http(s) URL: 'ftp://x'"}
    symbols = tmp_path / "symbols.toml"
    symbols.write_text('[[instrument]]\nid = "AAPL"\nasset_class = "equity"\ncurrency = "USD"\n'
                       'tick_size = "0.01"\nlot_size = "1"\n')
    loaded = config({"cbp": COINBASE}, state_dir=str(tmp_path), symbols_file=str(symbols))
    assert [key for key, _ in deep_check(loaded)] == ["venues.cbp.kind"]
    assert any("REST venue cbp: coinbase_prime" in line for line in summarize(loaded))


def test_demo_config_checks_clean_with_its_credentials_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CRYPTO_CREDENTIAL_ENV:
        monkeypatch.setenv(name, "throwaway")
    assert main(["check-config", str(DEMO_CONFIG)]) == 0
    monkeypatch.delenv(CRYPTO_CREDENTIAL_ENV[0])
    assert main(["check-config", str(DEMO_CONFIG)]) == 1
