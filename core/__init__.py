"""Threadline's pure domain: entities, rules, use cases and the ports they need.

Nothing here performs I/O or reads the wall clock; adapters are injected.
"""
