"""Drop copies and the compliance archive.

- `settings`: the `[dropcopy.<name>]` and `[retention]` configuration sections.
- `copies`: a copy of an ExecutionReport (797=Y, our ids, account, venue, original TransactTime), sans-I/O.
- `feed`: the router's per-pass hook that builds the copies (journaled with the pass) and hands them out.
- `export`: audit exports (csv / jsonl / FIX log) and the order-events report, streamed.
- `retention`: which days may be purged (only reconciled-clean days older than the retention).

The QuickFIX acceptor serving drop-copy clients is engine glue: `fixgw.engine.dropcopy`.
The archive queries live with the journal: `fixgw.store.archive`.
"""
