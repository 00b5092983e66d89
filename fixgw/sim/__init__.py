"""Simulated counterparties and clients (FIX broker, EMS client, QuickFIX executor) for tests and demos."""
