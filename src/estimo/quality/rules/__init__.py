"""The audit rules, one module per concept; each exposes ``check(ctx)``."""
