"""AI triage engines: the offline one (the default, no network) and an OpenAI-compatible
model with the offline one as its fall-back. The core's `sanitize` checks both."""
