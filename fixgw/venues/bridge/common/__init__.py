"""Machinery every REST venue shares: rate limiting, retries, clock skew, the pooled HTTP client, errors."""
