"""Automations: rules and auto-replies as data, matched and cascaded purely; the use cases
apply what they decide in the transaction of the event that caused it."""
