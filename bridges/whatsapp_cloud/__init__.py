"""Meta WhatsApp Cloud API bridge: webhooks in, Graph API out."""
