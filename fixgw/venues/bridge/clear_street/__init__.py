"""Clear Street bridge: Studio REST v2 equity orders behind an OAuth 2.0 client-credentials bearer token."""
