"""A scheduled job runs once per fire time, whoever is active (HA, README "High availability").

Before a job's run the active claims (cluster, job id, fire time) in `ha_job_run` under its epoch, in a fenced
write transaction that also checks the lease row itself: a node that lost the lease claims nothing. A claim is
finished once the run is done. An unfinished claim of an older epoch - its node died or was fenced in the middle
of the run, and wrote nothing more - may be claimed again by the new active, which then runs the job once more;
a finished one never. A failed run gives its claim up (a later catch-up may try again, as before HA).

Both nodes compute the same fire times from the same triggers (cron, or intervals anchored at a fixed instant),
so a fire the old active ran just before it died is not run again, and one it missed is run once by the new
active at takeover (`latest_due`: the misfire policy - coalesced, within a grace).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from fixgw.model.orders import utc_now
from fixgw.store.coltypes import to_micros
from fixgw.store.database import write_transaction
from fixgw.store.records import FencedError, JournalError

log = structlog.get_logger("fixgw.ha.jobs")

_CLAIM = text(
    "INSERT INTO ha_job_run (cluster, job_id, fire_time, node, epoch, claimed_at) "
    "SELECT CAST(:cluster AS VARCHAR), CAST(:job AS VARCHAR), CAST(:fire AS BIGINT), CAST(:node AS VARCHAR), "
    "CAST(:epoch AS BIGINT), CAST(:now AS BIGINT) WHERE EXISTS (SELECT 1 FROM ha_lease WHERE "
    "cluster = :cluster AND holder = :node AND epoch = :epoch AND expires_at > clock_timestamp()) "
    "ON CONFLICT (cluster, job_id, fire_time) DO UPDATE SET node = excluded.node, epoch = excluded.epoch, "
    "claimed_at = excluded.claimed_at WHERE ha_job_run.finished_at IS NULL AND ha_job_run.epoch < excluded.epoch "
    "RETURNING epoch")
_FINISH = text("UPDATE ha_job_run SET finished_at = :now WHERE cluster = :cluster AND job_id = :job "
               "AND fire_time = :fire AND node = :node AND epoch = :epoch")
_GIVE_UP = text("DELETE FROM ha_job_run WHERE cluster = :cluster AND job_id = :job AND fire_time = :fire "
                "AND node = :node AND epoch = :epoch AND finished_at IS NULL")
_PURGE = text("DELETE FROM ha_job_run WHERE cluster = :cluster AND fire_time < :before")
_FINISHED = text("SELECT 1 FROM ha_job_run WHERE cluster = :cluster AND job_id = :job AND fire_time = :fire "
                 "AND finished_at IS NOT NULL")


class JobClaims:
    """The claims of one node on the journal's engine; `epoch()` is the epoch it holds (None: not active)."""

    def __init__(self, engine: Engine, *, cluster: str, node: str, epoch: Callable[[], int | None]) -> None:
        self.engine = engine
        self.cluster = cluster
        self.node = node
        self._epoch = epoch
        self.ran = 0
        self.skipped = 0

    def claim(self, job_id: str, fire_time: datetime) -> int | None:
        """The epoch the claim was taken under, or None: the fire is another run's (or this node is not active)."""
        epoch = self._epoch()
        if epoch is None:
            return None
        try:
            with write_transaction(self.engine) as connection:
                row = connection.execute(_CLAIM, self._params(job_id, fire_time, epoch)).first()
        except FencedError:
            return None
        except SQLAlchemyError as exc:
            raise JournalError(f"job claim {job_id}: {exc}") from exc
        return None if row is None else epoch

    def finish(self, job_id: str, fire_time: datetime, epoch: int, *, done: bool = True) -> None:
        """The run is over: recorded as done, or (a failed run) the claim given up."""
        try:
            with write_transaction(self.engine) as connection:
                connection.execute(_FINISH if done else _GIVE_UP, self._params(job_id, fire_time, epoch))
        except FencedError:
            log.warning("ha.job_finish_fenced", job=job_id, fire_time=fire_time.isoformat())
        except SQLAlchemyError as exc:
            raise JournalError(f"job claim {job_id}: {exc}") from exc

    def finished(self, job_id: str, fire_time: datetime) -> bool:
        try:
            with self.engine.connect() as connection:
                return connection.execute(_FINISHED, {"cluster": self.cluster, "job": job_id,
                                                      "fire": to_micros(fire_time)}).first() is not None
        except SQLAlchemyError as exc:
            raise JournalError(f"job claim {job_id}: {exc}") from exc

    def purge_before(self, before: datetime) -> None:
        """Claims of fires older than any catch-up looks back (the table would otherwise grow a row per fire)."""
        try:
            with write_transaction(self.engine) as connection:
                connection.execute(_PURGE, {"cluster": self.cluster, "before": to_micros(before)})
        except FencedError:
            pass
        except SQLAlchemyError as exc:
            raise JournalError(f"job claims: {exc}") from exc

    def run_once(self, job_id: str, fire_time: datetime, work: Callable[[], object]) -> bool:
        """Run `work` if this node wins the claim of the fire; True if it ran. `work()` returns False when the run
        failed: the claim is given up instead of finished."""
        epoch = self.claim(job_id, fire_time)
        if epoch is None:
            self.skipped += 1
            log.info("ha.job_skipped", job=job_id, fire_time=fire_time.isoformat(), reason="claimed elsewhere")
            return False
        done = False
        try:
            done = work() is not False
        finally:
            self.finish(job_id, fire_time, epoch, done=done)
            self.ran += 1
        return True

    def _params(self, job_id: str, fire_time: datetime, epoch: int) -> dict[str, object]:
        return {"cluster": self.cluster, "job": job_id, "fire": to_micros(fire_time), "node": self.node,
                "epoch": epoch, "now": to_micros(utc_now())}
