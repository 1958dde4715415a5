"""Where customer media may be fetched from with the account's credentials in play.

Twilio's MediaUrl is on api.twilio.com and answers with a redirect to a short-lived CDN
URL (mms.twiliocdn.com; media.twiliocdn.com for some accounts). Anything else in a
MediaUrl or a redirect hop is refused: https only, Twilio's hosts only, default port, no
credentials in the URL. URLs are read with httpx.URL, as the request will be made, so the
check and the connection cannot disagree about the host.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

TWILIO_MEDIA_HOSTS = ("api.twilio.com", "*.twilio.com", "*.twiliocdn.com")
MAX_URL = 2048
DEFAULT_PORTS = {"https": 443, "http": 80}


def origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in; None if unusable."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    port = parsed.port or DEFAULT_PORTS.get(parsed.scheme)
    return (parsed.scheme, parsed.host, port) if parsed.host and port else None


@dataclass(frozen=True)
class MediaPolicy:
    hosts: tuple[str, ...] = TWILIO_MEDIA_HOSTS  # exact names or "*.suffix"
    schemes: frozenset[str] = frozenset({"https"})
    # Also allowed, exactly: the origin of a non-default TWILIO_API_URL (a fake in tests).
    origins: frozenset[tuple[str, str, int]] = frozenset()

    def refusal(self, url: str) -> str | None:
        """Why `url` must not be fetched, or None when it may be."""
        if len(url) > MAX_URL:
            return f"the media URL is longer than {MAX_URL} characters"
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            return "the media URL is not a valid URL"
        if parsed.userinfo:
            return "the media URL carries credentials"
        if origin_of(url) in self.origins:
            return None
        if not self._host_allowed(parsed.host):
            return f"{parsed.host or 'no host'} is not a Twilio media host"
        if parsed.scheme not in self.schemes:
            return f"{parsed.scheme} scheme is refused (https only)"
        if parsed.port is not None:  # httpx already drops an explicit default port
            return f"port {parsed.port} is refused (default port only)"
        return None

    def _host_allowed(self, host: str) -> bool:
        for allowed in self.hosts:
            if allowed.startswith("*."):
                if host.endswith(allowed[1:]) and len(host) > len(allowed) - 1:
                    return True
            elif host == allowed:
                return True
        return False
