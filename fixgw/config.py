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
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from fixgw.dropcopy.settings import DropCopySessionConfig, RetentionConfig
from fixgw.model.enums import AssetClass, OrdType
from fixgw.recon.settings import ReconConfig
from fixgw.risk.settings import RiskConfig
from fixgw.venues.bridge.binance.config import BinanceConfig
from fixgw.venues.bridge.coinbase_prime.config import CoinbasePrimeConfig
from fixgw.venues.bridge.falconx.config import FalconXConfig

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SPECS_DIR = PACKAGE_DIR.parent / "specs"

BeginString = Literal["FIX.4.2", "FIX.4.4", "FIXT.1.1"]
QuickfixValue = str | int | bool


class SecretReferenceError(ValueError):
    pass


def resolve_secret(value: Any) -> Any:
    """Turn `env:NAME`, `file:PATH` or `cred:NAME` into the secret's value; anything else passes as is."""
    if isinstance(value, SecretStr) or not isinstance(value, str):
        return value
    scheme, _, ref = value.partition(":")
    if scheme == "env" and ref:
        if ref not in os.environ:
            raise SecretReferenceError(f"environment variable {ref} is not set")
        return os.environ[ref]
    if scheme == "file" and ref:
        try:
            return Path(ref).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretReferenceError(f"cannot read secret file {ref}: {exc.strerror}") from None
    if scheme == "cred" and ref:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise SecretReferenceError(f"credential {ref}: CREDENTIALS_DIRECTORY is not set (not under systemd?)")
        try:
            return (Path(directory) / ref).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError:
            raise SecretReferenceError(f"credential {ref} not found in $CREDENTIALS_DIRECTORY") from None
    return value


Secret = Annotated[SecretStr, BeforeValidator(resolve_secret)]


def resolve_path_reference(value: Any) -> Any:
    """`cred:NAME` names a file among the systemd credentials ($CREDENTIALS_DIRECTORY/NAME); other paths pass."""
    if isinstance(value, str) and value.startswith("cred:"):
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise SecretReferenceError(f"credential {value[5:]}: CREDENTIALS_DIRECTORY is not set (not under systemd?)")
        return Path(directory) / value[5:]
    return value


CredentialPath = Annotated[Path, BeforeValidator(resolve_path_reference)]
"""A file path, or `cred:NAME` for a systemd credential file (e.g. a TLS private key)."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"
    """auto: JSON lines when stdout is not a terminal, readable console output on a terminal."""


class JournalConfig(Section):
    url: str | None = None
    """SQLAlchemy URL; default sqlite:///<state_dir>/journal.db. PostgreSQL: postgresql+psycopg://..."""
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


# REST prime brokers (`venues.<name>`): the bridge's own venue configs, with credentials as secret references.
# The section key is the venue's name (routing destination); `kind` says which adapter serves it.


class CoinbasePrimeVenueConfig(CoinbasePrimeConfig):
    kind: Literal["coinbase_prime"]
    access_key: Secret
    passphrase: Secret
    signing_key: Secret


class FalconXVenueConfig(FalconXConfig):
    kind: Literal["falconx"]
    api_key: Secret
    passphrase: Secret
    secret: Secret


class BinanceVenueConfig(BinanceConfig):
    kind: Literal["binance"]
    api_key: Secret
    secret_key: Secret


RestVenueSection = Annotated[
    CoinbasePrimeVenueConfig | FalconXVenueConfig | BinanceVenueConfig, Field(discriminator="kind")
]
REST_VENUE_KINDS = ("coinbase_prime", "falconx", "binance")


class RouteMatch(Section):
    ems_session: list[str] | None = None
    account: list[str] | None = None
    symbol: str | None = None
    """A glob over the canonical instrument id, e.g. "*/USD" or "AAPL"."""
    instrument: list[str] | None = None
    asset_class: list[AssetClass] | None = None
    ord_type: list[OrdType] | None = None


class RouteRule(Section):
    name: str
    match: RouteMatch = RouteMatch()
    destination: str
    backup: str | None = None
    """Used for NEW orders when the destination is not logged on; live orders stay where they are."""


class RoutingConfig(Section):
    rules: list[RouteRule] = Field(default_factory=list)
    default: str | None = None
    """Where an order goes when no rule matches; without it such orders are denied."""

    def destinations(self) -> set[str]:
        names = {rule.destination for rule in self.rules} | {r.backup for r in self.rules if r.backup}
        if self.default:
            names.add(self.default)
        return names


class AdminConfig(Section):
    """The admin HTTP server (health, readiness, metrics, blotter, controls, status page)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9880, ge=0, le=65535)
    """0 picks a free port (tests)."""
    token: Secret | None = None
    """Bearer token (a secret reference: env:/file:/cred:); required when enabled."""
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
    max_per_minute: int = Field(default=20, ge=1)
    """Notifications per sink per minute; beyond it new alerts are dropped (and counted)."""
    delivery_attempts: int = Field(default=5, ge=1, le=20)
    delivery_timeout_s: float = Field(default=5.0, gt=0)


class GatewayConfig(BaseSettings):
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
    venues: dict[str, RestVenueSection] = Field(default_factory=dict)
    """REST prime brokers reached through the bridge; they route like FIX brokers."""
    routing: RoutingConfig = RoutingConfig()
    admin: AdminConfig = AdminConfig()
    alerts: AlertsConfig = AlertsConfig()
    risk: RiskConfig = RiskConfig()
    """Pre-trade risk limits, venue rules, circuit breakers (fixgw/risk/settings.py)."""
    recon: ReconConfig = ReconConfig()
    """Scheduled reconciliation: end of day per venue, intraday drift (fixgw/recon/settings.py)."""
    dropcopy: dict[str, DropCopySessionConfig] = Field(default_factory=dict)
    """Drop-copy acceptor sessions for compliance (fixgw/dropcopy/settings.py)."""
    retention: RetentionConfig = RetentionConfig()
    """How long the journal keeps reconciled days (`fixgw audit purge`)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (passed as init values).
        return env_settings, init_settings

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
        if errors:
            raise ValueError("; ".join(errors))
        return self

    @property
    def journal_url(self) -> str:
        return self.journal.url or f"sqlite:///{self.state_dir / 'journal.db'}"

    @property
    def symbols_path(self) -> Path:
        return self.symbols_file or self.specs_dir / "symbols.toml"

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
        if len(loc) > 2 and loc[0] == "venues" and loc[2] in REST_VENUE_KINDS:
            del loc[2]  # the union's tag: the user wrote venues.<name>.<key>
        key = ".".join(str(part) for part in loc) or "(top level)"
        reason = "unknown key (not a setting)" if error["type"] == "extra_forbidden" else error["msg"]
        reason = reason.removeprefix("Value error, ")
        if key == "(top level)" and all(": " in part for part in reason.split("; ")):
            for part in reason.split("; "):  # cross-checks: "key: reason; key: reason"
                sub_key, _, sub_reason = part.partition(": ")
                problems.append((sub_key, sub_reason))
            continue
        problems.append((key, reason))
    return problems


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


def load_config(path: Path) -> GatewayConfig:
    """Read and validate a TOML config file. Relative paths in it are relative to the file's folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([("(file)", f"cannot read {path}: {exc.strerror}")], str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("(syntax)", str(exc))], str(path)) from None
    return parse_config(data, base_dir=path.resolve().parent, source=str(path))
