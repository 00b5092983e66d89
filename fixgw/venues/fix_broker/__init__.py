"""A FIX broker reached through an initiator session (`[brokers.<name>]`)."""
