"""High availability: one active gateway per journal, elected and fenced through PostgreSQL (README "High
availability"). `settings` is the [ha] section; `node` the election; `sessions` the FIX session continuity."""
