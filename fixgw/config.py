"""The gateway's one typed configuration: a TOML file, overridden by FIXGW_* environment variables.

Secrets are never literals in a config file: a secret field takes a reference - `env:NAME` (an environment
variable), `file:/path` (a file's content) or `cred:NAME` (a systemd credential in $CREDENTIALS_DIRECTORY) -
resolved at load time into a SecretStr that never prints. Unknown keys are errors.
"""

from __future__ import annotations

import copy
import fnmatch
import os
import tomllib
from collections.abc import Mapping
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from fixgw.dropcopy.settings import DropCopySessionConfig, RetentionConfig
from fixgw.ha.settings import HaConfig
from fixgw.margin.settings import MarginConfig
from fixgw.marketdata.settings import MarketDataConfig, venue_source_errors
from fixgw.model.enums import OrdType
from fixgw.recon.settings import ReconConfig
from fixgw.risk.settings import RiskConfig
from fixgw.router.rules import RoutingConfig
from fixgw.secretref import CredentialPath, Secret
from fixgw.venues.registry import VenueSettings

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SPECS_DIR = PACKAGE_DIR.parent / "specs"

ENV_PREFIX = "FIXGW_"
BeginString = Literal["FIX.4.2", "FIX.4.4", "FIXT.1.1"]
QuickfixValue = str | int | bool


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"
    """auto: JSON lines when stdout is not a terminal, readable console output on a terminal."""


class JournalConfig(Section):
    url: Secret | None = None
    """SQLAlchemy URL, or a secret reference to one (it may hold the database password); default
    sqlite:///<state_dir>/journal.db. PostgreSQL: postgresql+psycopg://..."""
    max_batch: int = Field(default=512, ge=1, le=100_000)
    """Most router work items journaled in one group commit."""
    sync: Literal["full", "normal"] = "full"
    """full: every commit reaches the disk before anything leaves (survives power loss); normal: survives the
    process being killed, not power loss (SQLite synchronous=NORMAL in WAL; PostgreSQL synchronous_commit=off)."""


class TlsConfig(Section):
    """TLS for a FIX connection (QuickFIX built with HAVE_SSL). See SECURITY.md."""

    certificate: CredentialPath | None = None
    """Our certificate (PEM): the server's on the acceptor, the client's for mutual TLS on an initiator."""
    private_key: CredentialPath | None = None
    ca_certificates: CredentialPath | None = None
    """CA certificates (PEM) the peer's certificate must chain to."""
    verify_peer: bool = True
    """Acceptor: require a client certificate from ca_certificates (mutual TLS). Initiator: verify the broker's."""
    min_version: Literal["TLSv1.2", "TLSv1.3"] = "TLSv1.2"
    ciphers: str | None = None
    """OpenSSL cipher list for TLS 1.2 (QuickFIX SSLCipherSuite)."""
    crl_file: CredentialPath | None = None

    @model_validator(mode="after")
    def _complete(self) -> TlsConfig:
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("give certificate and private_key together")
        if self.verify_peer and self.ca_certificates is None:
            raise ValueError("verify_peer needs ca_certificates")
        return self


class LogonLockoutConfig(Section):
    """Exponential lockout after repeated failed logons, per EMS session and per source address."""

    max_failures: int = Field(default=5, ge=1)
    base_seconds: int = Field(default=1, ge=1)
    max_seconds: int = Field(default=300, ge=1)


class AcceptorConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=9878, ge=1, le=65535)
    logon_timeout_s: int = Field(default=10, ge=1, le=3600)
    """A connection (plain or TLS) without a valid Logon this many seconds after it was accepted is closed."""
    quickfix: dict[str, QuickfixValue] = Field(default_factory=dict)
    """QuickFIX settings for every EMS session (passed through as given)."""
    tls: TlsConfig | None = None
    """TLS for every EMS session (one TLS setup per acceptor); None: plain TCP."""
    lockout: LogonLockoutConfig = LogonLockoutConfig()


class EmsSessionConfig(Section):
    begin_string: BeginString = "FIX.4.4"
    sender_comp_id: str = "FIXGW"
    target_comp_id: str
    dialect: str = "ems-default"
    allowed_accounts: list[str] = Field(default_factory=list)
    """Accounts this EMS may trade; empty means any account."""
    allowed_instruments: list[str] = Field(default_factory=list)
    """Canonical instrument ids or globs ("AAPL", "*/USD") this EMS may trade; empty means any."""
    allowed_ord_types: list[OrdType] = Field(default_factory=list)
    """Order types this EMS may send; empty means any."""
    username: str | None = None
    """Username(553) the Logon must carry; None: not checked."""
    password_hash: Secret | None = None
    """Reference to the Argon2 hash of the Logon's Password(554) (`fixgw hash-password`); None: not checked."""
    allowed_addresses: list[IPv4Address] = Field(default_factory=list)
    """Source IPv4 addresses this EMS may connect from (QuickFIX AllowedRemoteAddresses); empty means any."""
    cancel_on_disconnect: bool = False
    watch: bool = False
    """Alert (`session_down`) when this session is down; off by default: an EMS logs off at the end of its day."""
    quickfix: dict[str, QuickfixValue] = Field(default_factory=dict)
    """Any QuickFIX session setting (HeartBtInt, StartTime, ResetOnLogon, ...), passed through."""


class BrokerSessionConfig(Section):
    begin_string: BeginString = "FIX.4.4"
    sender_comp_id: str = "FIXGW"
    target_comp_id: str
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    dialect: str = "generic-broker"
    username: str | None = None
    password: Secret | None = None
    quickfix: dict[str, QuickfixValue] = Field(default_factory=dict)
    tls: TlsConfig | None = None
    """TLS to this broker (an initiator of its own); None: plain TCP."""


class AdminConfig(Section):
    """The admin HTTP server (health, readiness, metrics, blotter, controls, status page)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9880, ge=0, le=65535)
    """0 picks a free port (tests)."""
    token: Secret | None = None
    """Bearer token (a secret reference: env:/file:/cred:); required when enabled."""
    read_only_tokens: list[Secret] = Field(default_factory=list)
    """Tokens (secret references) that read everything (API, status page, console) and change nothing."""
    required_sessions: list[str] | None = None
    """Sessions that must be logged on for /readyz; default every broker session and REST venue."""
    stop_timeout_s: float = Field(default=20.0, gt=0, le=600)
    """Graceful stop budget; keep it below the unit's TimeoutStopSec."""
    status_refresh_s: int = Field(default=5, ge=1, le=3600)

    @model_validator(mode="after")
    def _token_when_enabled(self) -> AdminConfig:
        if self.enabled and self.token is None:
            raise ValueError("token is required when the admin server is enabled")
        return self


class AlertSinkConfig(Section):
    kind: Literal["json", "slack", "pagerduty"] = "json"
    url: Secret
    """Webhook URL; a secret reference for Slack/PagerDuty URLs that embed a key."""
    token: Secret | None = None
    """json sinks: sent as Authorization: Bearer."""
    routing_key: Secret | None = None
    """pagerduty sinks: the Events v2 integration key (required)."""

    @model_validator(mode="after")
    def _pagerduty_key(self) -> AlertSinkConfig:
        if self.kind == "pagerduty" and self.routing_key is None:
            raise ValueError("routing_key is required for a pagerduty sink")
        return self


class MarketHours(Section):
    timezone: str = "America/New_York"
    start: str = Field(default="09:30", pattern=r"^\d\d:\d\d$")
    end: str = Field(default="16:00", pattern=r"^\d\d:\d\d$")
    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    """Weekdays, Monday = 0."""


class AlertsConfig(Section):
    sinks: dict[str, AlertSinkConfig] = Field(default_factory=dict)
    evaluate_every_s: float = Field(default=5.0, gt=0, le=3600)
    sessions: list[str] | None = None
    """Sessions watched by the session-down rule; default every broker and REST venue. EMS and drop-copy
    sessions (clients that log off at the end of their day) are watched when listed here or `watch = true`."""
    session_down_after_s: float = Field(default=30.0, ge=0)
    no_execution_updates_s: float = Field(default=300.0, gt=0)
    market_hours: MarketHours | None = None
    """When the no-execution rule applies; none: always (a 24/7 desk)."""
    reject_rate_window_s: float = Field(default=60.0, gt=0)
    reject_rate_threshold: float = Field(default=0.5, gt=0, le=1)
    """Rejects + denials per new order in the window above which the reject-rate alert fires."""
    reject_rate_min_orders: int = Field(default=10, ge=1)
    clock_skew_max_s: float = Field(default=2.0, gt=0)
    security_burst_threshold: int = Field(default=20, ge=1)
    """Refused EMS connections within `security_burst_window_s` that fire `security_burst:all`."""
    security_burst_window_s: float = Field(default=60.0, gt=0)
    max_per_minute: int = Field(default=20, ge=1)
    """Notifications per sink per minute; beyond it new alerts are dropped (and counted)."""
    delivery_attempts: int = Field(default=5, ge=1, le=20)
    delivery_timeout_s: float = Field(default=5.0, gt=0)


class _EnvironmentFirst(BaseSettings):
    """FIXGW_<SECTION>__<KEY> environment variables over the file's values (passed as init values)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings


class GatewayConfig(_EnvironmentFirst):
    model_config = SettingsConfigDict(env_prefix="FIXGW_", env_nested_delimiter="__", extra="forbid", frozen=True)

    name: str = "fixgw"
    state_dir: Path = Path("var")
    specs_dir: Path = DEFAULT_SPECS_DIR
    symbols_file: Path | None = None
    """Symbol master file; default <specs_dir>/symbols.toml."""
    log: LogConfig = LogConfig()
    journal: JournalConfig = JournalConfig()
    acceptor: AcceptorConfig = AcceptorConfig()
    ems: dict[str, EmsSessionConfig] = Field(default_factory=dict)
    brokers: dict[str, BrokerSessionConfig] = Field(default_factory=dict)
    venues: dict[str, VenueSettings] = Field(default_factory=dict)
    """Venues of a plugin kind (REST prime brokers, ...: fixgw/venues/registry.py); they route like FIX brokers."""
    routing: RoutingConfig = RoutingConfig()
    admin: AdminConfig = AdminConfig()
    alerts: AlertsConfig = AlertsConfig()
    risk: RiskConfig = RiskConfig()
    """Pre-trade risk limits, venue rules, circuit breakers (fixgw/risk/settings.py)."""
    marketdata: MarketDataConfig = MarketDataConfig()
    """Reference-price sources and policies, P&L day cut-off (fixgw/marketdata/settings.py)."""
    recon: ReconConfig = ReconConfig()
    """Scheduled reconciliation: end of day per venue, intraday drift (fixgw/recon/settings.py)."""
    dropcopy: dict[str, DropCopySessionConfig] = Field(default_factory=dict)
    """Drop-copy acceptor sessions for compliance (fixgw/dropcopy/settings.py)."""
    retention: RetentionConfig = RetentionConfig()
    """How long the journal keeps reconciled days (`fixgw audit purge`)."""
    ha: HaConfig = HaConfig()
    """Active/standby pair on one PostgreSQL journal (fixgw/ha/settings.py)."""
    margin: MarginConfig = MarginConfig()
    """Collateral and margin across the prime brokers (fixgw/margin/settings.py)."""

    @field_validator("venues", mode="before")
    @classmethod
    def _venue_names(cls, value: Any) -> Any:
        """A REST venue's name is its section key."""
        if not isinstance(value, Mapping):
            return value
        return {key: {"name": key, **section} if isinstance(section, Mapping) else section
                for key, section in value.items()}

    @model_validator(mode="after")
    def _cross_checks(self) -> GatewayConfig:
        errors: list[str] = []
        venues = set(self.brokers) | set(self.venues)
        for clash in sorted(set(self.brokers) & set(self.venues)):
            errors.append(f"venues.{clash}: brokers.{clash} has the same name (routing names must be unique)")
        for section_key, venue in self.venues.items():
            if venue.name != section_key:
                errors.append(f"venues.{section_key}.name: must be the section key {section_key!r} (leave it out)")
        for index, rule in enumerate(self.routing.rules):
            for role, name in (("destination", rule.destination), ("backup", rule.backup)):
                if name is not None and name not in venues:
                    errors.append(f"routing.rules.{index}.{role}: unknown venue {name!r} (known: {sorted(venues)})")
            for ems in rule.match.ems_session or []:
                if ems not in self.ems:
                    errors.append(f"routing.rules.{index}.match.ems_session: unknown EMS session {ems!r}")
            if rule.match.symbol is not None:
                try:
                    fnmatch.translate(rule.match.symbol)
                except Exception:  # pragma: no cover - fnmatch accepts almost anything
                    errors.append(f"routing.rules.{index}.match.symbol: bad pattern {rule.match.symbol!r}")
        if self.routing.default is not None and self.routing.default not in venues:
            errors.append(f"routing.default: unknown venue {self.routing.default!r} (known: {sorted(venues)})")
        seen: dict[tuple[str, str, str], str] = {}
        for name, session in self.ems.items():
            key = (session.begin_string, session.sender_comp_id, session.target_comp_id)
            if key in seen:
                errors.append(f"ems.{name}: same CompIDs as ems.{seen[key]}")
            seen[key] = name
        if errors:
            raise ValueError("; ".join(errors))
        return self

    @model_validator(mode="after")
    def _security_checks(self) -> GatewayConfig:
        errors = [f"ems.{name}.allowed_addresses: QuickFIX's TLS acceptor does not enforce source addresses "
                  "(use mutual TLS, acceptor.tls.verify_peer, or a firewall instead)"
                  for name, session in self.ems.items() if session.allowed_addresses and self.acceptor.tls]
        if self.acceptor.tls is not None and self.acceptor.tls.certificate is None:
            errors.append("acceptor.tls.certificate: a TLS acceptor needs certificate and private_key")
        if errors:
            raise ValueError("; ".join(errors))
        return self

    @model_validator(mode="after")
    def _risk_scopes(self) -> GatewayConfig:
        venues = set(self.brokers) | set(self.venues)
        errors = [f"risk.venues.{name}: unknown venue (known: {sorted(venues)})"
                  for name in self.risk.venues if name not in venues]
        errors += [f"risk.ems.{name}: unknown EMS session" for name in self.risk.ems if name not in self.ems]
        errors += venue_source_errors(self.marketdata, self.venues)
        errors += [f"marketdata.sources.{name}.venue: {source.venue!r} is not a broker session under brokers"
                   for name, source in self.marketdata.sources.items()
                   if source.kind == "fix_broker" and source.venue not in self.brokers]
        errors += [f"margin.venues.{name}: not a venue under [venues] or [brokers] (known: {sorted(venues)})"
                   for name in self.margin.venues if name not in venues]
        errors += [f"margin.venues.{name}.report_to: unknown EMS session {margin.report_to!r}"
                   for name, margin in self.margin.venues.items()
                   if margin.report_to and margin.report_to not in self.ems]
        if errors:
            raise ValueError("; ".join(errors))
        return self

    @model_validator(mode="after")
    def _ha_checks(self) -> GatewayConfig:
        errors = self.ha.problems(self.journal_url)
        if errors:
            raise ValueError("; ".join(errors))
        return self

    @property
    def journal_url(self) -> str:
        """The resolved journal URL (it may carry a password: show it through fixgw.store.database.display_url)."""
        if self.journal.url is not None:
            return self.journal.url.get_secret_value()
        return f"sqlite:///{self.state_dir / 'journal.db'}"

    @property
    def symbols_path(self) -> Path:
        return self.symbols_file or self.specs_dir / "symbols.toml"

    @property
    def haircuts_path(self) -> Path:
        return self.margin.haircuts_file or self.specs_dir / "margin" / "haircuts.toml"

    def dialect_path(self, name: str) -> Path:
        return self.specs_dir / "dialects" / f"{name}.toml"


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds (key path, reason) pairs."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "") -> None:
        self.problems = problems
        self.source = source
        super().__init__("; ".join(f"{key}: {reason}" for key, reason in problems))


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = list(error["loc"])
        key = ".".join(str(part) for part in loc) or "(top level)"
        reason = "unknown key (not a setting)" if error["type"] == "extra_forbidden" else error["msg"]
        reason = reason.removeprefix("Value error, ")
        if key == "(top level)" and all(": " in part for part in reason.split("; ")):
            for part in reason.split("; "):  # cross-checks: "key: reason; key: reason"
                sub_key, _, sub_reason = part.partition(": ")
                problems.append((sub_key, _with_source(sub_key, sub_reason)))
            continue
        problems.append((key, _with_source(key, reason)))
    return problems


def _with_source(key: str, reason: str) -> str:
    """The reason, naming the FIXGW_* environment variable that set the key (or a table above it), if one did."""
    parts = key.split(".")
    given = {name.upper(): name for name in os.environ if name.upper().startswith(ENV_PREFIX)}
    for end in range(len(parts), 0, -1):
        name = given.get(ENV_PREFIX + "__".join(parts[:end]).upper())
        if name is not None:
            return f"{reason} (set by environment variable {name})"
    return reason


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    for key in ("state_dir", "specs_dir", "symbols_file"):
        value = data.get(key)
        if isinstance(value, str) and not Path(value).is_absolute():
            data[key] = str(base / value)
    data = copy.deepcopy(data)  # TLS file paths sit in nested tables: rewrite a copy, not the caller's
    tls_sections = [data["acceptor"].get("tls")] if isinstance(data.get("acceptor"), dict) else []
    tls_sections += [b.get("tls") for b in (data.get("brokers") or {}).values() if isinstance(b, dict)]
    for tls in tls_sections:  # TLS files too (a `cred:` reference is not a path)
        for key in ("certificate", "private_key", "ca_certificates", "crl_file"):
            value = tls.get(key) if isinstance(tls, dict) else None
            if isinstance(value, str) and not value.startswith("cred:") and not Path(value).is_absolute():
                tls[key] = str(base / value)
    return data


def parse_config(data: Mapping[str, Any], *, base_dir: Path | None = None, source: str = "") -> GatewayConfig:
    """Validate a config mapping (from TOML or code) with environment overrides; ConfigError when invalid."""
    values = _resolve_paths(dict(data), base_dir) if base_dir else dict(data)
    try:
        return GatewayConfig(**values)
    except ValidationError as exc:
        raise ConfigError(_problems(exc), source) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([("(file)", f"cannot read {path}: {exc.strerror}")], str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("(syntax)", str(exc))], str(path)) from None


def load_config(path: Path) -> GatewayConfig:
    """Read and validate a TOML config file. Relative paths in it are relative to the file's folder."""
    return parse_config(_read_toml(path), base_dir=path.resolve().parent, source=str(path))


def load_sections(path: Path, keys: tuple[str, ...]) -> tuple[dict[str, Any], GatewayConfig]:
    """The file's TOML, and a config validated from only its `keys` (defaults for the rest): what an offline tool
    reading the journal needs, without resolving the other sections' secrets. ConfigError when invalid."""
    data = _read_toml(path)
    subset = {key: data[key] for key in keys if key in data}
    return data, parse_config(subset, base_dir=path.resolve().parent, source=str(path))


class _AdminSettings(_EnvironmentFirst):
    model_config = SettingsConfigDict(env_prefix="FIXGW_", env_nested_delimiter="__", extra="ignore", frozen=True)

    name: str = "fixgw"
    admin: AdminConfig = AdminConfig()


def load_admin_config(path: Path) -> tuple[str, AdminConfig]:
    """Only the gateway's name and [admin] section of a config file (with FIXGW_ADMIN__* overrides): what a tool
    talking to the running gateway needs, without resolving every other secret of the file."""
    data = _read_toml(path)
    try:
        settings = _AdminSettings(**{key: data[key] for key in ("name", "admin") if key in data})
    except ValidationError as exc:
        raise ConfigError(_problems(exc), str(path)) from None
    return settings.name, settings.admin
