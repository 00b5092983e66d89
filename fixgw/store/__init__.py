"""The durable journal: orders of record, events, fills and FIX messages in SQLite or PostgreSQL.

The only package that imports sqlalchemy. Everything else talks to `Journal` with model objects.
"""

from fixgw.store import margin as _margin  # noqa: F401  (registers the margin snapshots table)
from fixgw.store import recon as _recon  # noqa: F401  (and the recon tables)
from fixgw.store import references as _references  # noqa: F401  (and the reference_prices table)
from fixgw.store import transfers as _transfers  # noqa: F401  (and the transfers table)
from fixgw.store.journal import Journal
from fixgw.store.records import EventRecord, JournalBatch, JournalError, MessageRecord

__all__ = ["EventRecord", "Journal", "JournalBatch", "JournalError", "MessageRecord"]
