"""Session security, sans-I/O: password hashes, logon authentication with lockout, TLS settings.

The QuickFIX side (refusing a Logon, the log factory that reports connection events, choosing the TLS
acceptor/initiator) lives in fixgw.engine; nothing here imports quickfix.
"""
