"""Threadline composition root: settings, config, FastAPI app, workers and CLI."""
