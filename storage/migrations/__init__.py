"""Alembic environment and versions for Threadline's schema (run via storage.migrate)."""
