"""Signed, expiring public links to stored attachments: Twilio fetches outbound media
from a URL, so staff files are served at THREADLINE_PUBLIC_URL with an HMAC (keyed with
the auth token) instead of being public."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

PATH = "/webhooks/twilio/media"
LIFETIME_SECONDS = 24 * 3600  # Twilio fetches at send time; retries stay within a day


def _sig(secret: str, key: str, expires: int) -> str:
    mac = hmac.new(secret.encode(), f"{key}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def signed_url(public_url: str, secret: str, key: str, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + LIFETIME_SECONDS)
    token = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    return f"{public_url.rstrip('/')}{PATH}/{token}?e={expires}&s={_sig(secret, key, expires)}"


def verify(secrets: list[str], token: str, expires: str, sig: str,
           now: float | None = None) -> str | None:
    """The storage key a link points at, or None if it is forged or expired."""
    try:
        key = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        exp = int(expires)
    except (ValueError, UnicodeDecodeError):
        return None
    if exp < (now if now is not None else time.time()):
        return None
    if any(hmac.compare_digest(_sig(s, key, exp), sig) for s in secrets):
        return key
    return None
