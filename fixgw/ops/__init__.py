"""Operations: systemd notify/watchdog, the admin HTTP server, metrics, the status page, alerts, reloads.

Everything here watches the gateway from outside the hot path: the router thread only hands a `PassRecord` to
the metrics observer after each pass; the book is read through `runner.call` snapshots on the router thread.
"""
