"""Optional integrations with other tools (imported lazily; each needs its extra)."""
