"""Where customer media may be fetched from with a provider's credentials in play, and a
size-capped read of the answer. Both WhatsApp providers hand us a URL to fetch with our
own credentials (Meta: bearer token; Twilio: Basic auth): whatever host a URL names gets
them, so every URL (and every redirect hop) is checked first.

The rule: https only, the provider's hosts only, default port, no credentials in the URL,
or exactly the origin of a configured non-default API base (a fake in tests, a proxy).
URLs are read with httpx.URL, as the request will be made, so the check and the
connection cannot disagree about the host.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bridges.whatsapp_common.media import MediaTooLarge

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
class MediaUrlPolicy:
    hosts: tuple[str, ...]  # exact names or "*.suffix"
    schemes: frozenset[str] = frozenset({"https"})
    # Also allowed, exactly: the origin of a non-default API base URL.
    origins: frozenset[tuple[str, str, int]] = frozenset()
    owner: str = "provider"  # whose hosts these are, for the refusal text

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
            return f"{parsed.host or 'no host'} is not a {self.owner} media host"
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


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed answer, stopping at `limit` so an oversized file never fills
    memory (MediaTooLarge; at once when Content-Length already says so)."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise MediaTooLarge(int(declared))
    chunks, total = [], 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise MediaTooLarge(total)
        chunks.append(chunk)
    return b"".join(chunks)
