"""The `[ha]` configuration section (config.py imports this module; it imports nothing of fixgw)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HaConfig(BaseModel):
    """An active/standby pair on one PostgreSQL journal: the active holds a lease, the standby waits warm."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    node_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    """This node's name, different on each node (e.g. the host name)."""
    cluster: str = Field(default="fixgw", min_length=1, max_length=64)
    """The pair's name: nodes with the same cluster on one journal elect one active."""
    lease_s: float = Field(default=5.0, ge=1.0, le=300.0)
    """How long the lease lasts without renewal: a paused or cut-off active stops within this; a standby
    takes over after it (at once when the active's database connection is gone)."""
    renew_every_s: float | None = Field(default=None, gt=0)
    """Renewal period of the active; default lease_s / 3. Must be below lease_s / 2."""
    poll_every_s: float = Field(default=0.25, gt=0, le=10.0)
    """How often a standby checks the lease and the active's advisory lock."""
    sequence_gap: int = Field(default=1000, ge=1, le=1_000_000)
    """At takeover each session's next outbound MsgSeqNum is the last recorded one + 1 + this: messages the old
    active sent but had not recorded yet can never be numbered twice (the counterparty gets a gap fill instead)."""

    @property
    def renew_period_s(self) -> float:
        return self.renew_every_s if self.renew_every_s is not None else self.lease_s / 3

    def problems(self, journal_url: str) -> list[str]:
        """'key: reason' for each inconsistency (GatewayConfig lists them under their full keys)."""
        errors = []
        if self.enabled and self.node_id is None:
            errors.append("ha.node_id: required when ha.enabled (a name of its own on each node)")
        if self.enabled and not journal_url.startswith(("postgresql", "postgres:")):
            errors.append("ha.enabled: high availability needs a PostgreSQL journal shared by both nodes "
                          "(journal.url = postgresql+psycopg://...)")
        if self.renew_every_s is not None and self.renew_every_s >= self.lease_s / 2:
            errors.append(f"ha.renew_every_s: must be below lease_s / 2 ({self.lease_s / 2:g})")
        return errors
