"""Block Kit builders: pure functions from view models to Slack JSON (no I/O, no clock)."""
