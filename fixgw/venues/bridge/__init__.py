"""REST/JSON crypto prime-broker bridges: each venue looks like a FIX counterparty to the router."""
