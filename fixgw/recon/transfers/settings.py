"""`[recon.transfers]`: which chains to check transfers against, how, and when a transfer is late. Imports
only pydantic (config.py imports it through recon.settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ChainSourceKind = Literal["bitcoin_rpc", "ethereum_rpc", "explorer_csv"]
DEFAULT_LABELS = {"bitcoin": ["BTC", "bitcoin", "bitcoin-mainnet"],
                  "ethereum": ["ETH", "ethereum", "ethereum-mainnet", "ERC20"]}
"""The venues' usual labels of each chain (Binance "ETH", Coinbase Prime "ethereum-mainnet")."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenConfig(_Section):
    contract: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    """The ERC-20 contract whose `Transfer` logs carry this asset."""
    decimals: int = Field(ge=0, le=36)


class ChainNetworkConfig(_Section):
    kind: ChainSourceKind
    url: str | None = None
    """JSON-RPC endpoint of the node (bitcoin_rpc, ethereum_rpc)."""
    username: str | None = None
    password: str | None = None
    """A secret reference (env:NAME, file:/path, cred:NAME) for the node's RPC password (HTTP basic auth)."""
    csv_file: Path | None = None
    """explorer_csv: the export, `{date}` filled in (relative: to state_dir)."""
    labels: list[str] = Field(default_factory=list)
    """The venues' names of this chain; default the usual ones for `bitcoin` / `ethereum` plus the key itself."""
    native_asset: str = ""
    """BTC / ETH; default from the kind."""
    native_decimals: int | None = Field(default=None, ge=0, le=36)
    tokens: dict[str, TokenConfig] = Field(default_factory=dict)
    """ERC-20 assets on this chain, by symbol."""
    min_confirmations: int = Field(default=1, ge=0, le=10_000)
    watched_addresses: list[str] = Field(default_factory=list)
    """Our addresses: any transfer into one of them that no prime broker reports is a break."""
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    scan_batch: int = Field(default=25, ge=1, le=1000)
    """Blocks asked per JSON-RPC batch while scanning a day for watched addresses (bitcoin_rpc)."""

    @field_validator("password")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("env:", "file:", "cred:")):
            raise ValueError("a secret reference: env:NAME, file:/path or cred:NAME (never the password itself)")
        return value

    @model_validator(mode="after")
    def _needs(self) -> ChainNetworkConfig:
        if self.kind == "explorer_csv" and self.csv_file is None:
            raise ValueError("kind explorer_csv needs csv_file")
        if self.kind != "explorer_csv" and not self.url:
            raise ValueError(f"kind {self.kind} needs url")
        return self

    def asset(self) -> str:
        return self.native_asset or ("BTC" if self.kind == "bitcoin_rpc" else "ETH")

    def decimals(self) -> int:
        if self.native_decimals is not None:
            return self.native_decimals
        return 8 if self.kind == "bitcoin_rpc" else 18

    def names(self, key: str) -> list[str]:
        return [key, *(self.labels or DEFAULT_LABELS.get(key, []))]


class TransferReconConfig(_Section):
    enabled: bool = False
    """Run the transfer check as a scheduled job beside end-of-day recon (needs recon.enabled)."""
    cron: str | None = None
    """When (crontab, in recon.timezone); default recon.eod_cron."""
    venues: list[str] | None = None
    """Prime brokers whose transfers are checked; default every REST venue."""
    lookback_hours: int = Field(default=24, ge=0, le=24 * 89)
    """A run also re-checks transfers (and watched inflows) from this long before its day: a transfer made after
    the day's scheduled run is checked by the next one. (Binance answers at most 90 days at once.)"""
    max_pending_s: int = Field(default=3600, ge=0, le=30 * 86_400)
    """A transfer still without `min_confirmations` (or not yet on chain) this long after it was created breaks."""
    networks: dict[str, ChainNetworkConfig] = Field(default_factory=dict)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError(f"{value!r}: a crontab expression has 5 fields (minute hour day month weekday)")
        return value

    def network_of(self, label: str, asset: str = "") -> str | None:
        """The configured network a venue's chain label names (case-insensitive); without a known label, the one
        network that carries the asset (natively or as a token), if exactly one does."""
        wanted = label.lower()
        for key, network in self.networks.items():
            if wanted and wanted in (name.lower() for name in network.names(key)):
                return key
        carriers = [key for key, network in self.networks.items()
                    if asset and (asset == network.asset() or asset in network.tokens)]
        return carriers[0] if len(carriers) == 1 else None
