"""Twilio WhatsApp bridge: signed form webhooks in, the twilio SDK (over httpx) out."""
