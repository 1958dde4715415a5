"""Slack front end: every conversation a thread, every triage action a button."""
