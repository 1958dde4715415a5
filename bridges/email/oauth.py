"""OAuth2 access tokens for XOAUTH2 (Gmail, Office 365): refresh-token grant, cached.

Both providers speak the standard refresh_token grant at their token endpoint, so plain
httpx is enough (no SDK). The URL is configurable so tests use a fake token server.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
SCOPES = {
    "xoauth2_google": "https://mail.google.com/",
    "xoauth2_microsoft": ("https://outlook.office.com/IMAP.AccessAsUser.All "
                          "https://outlook.office.com/SMTP.Send offline_access"),
}
DEFAULT_TOKEN_URLS = {"xoauth2_google": GOOGLE_TOKEN_URL,
                      "xoauth2_microsoft": MICROSOFT_TOKEN_URL}
_EARLY = 60.0  # refresh a minute before the token expires


class OAuthError(Exception):
    """The token endpoint refused (bad client or revoked refresh token) or is unreachable."""

    def __init__(self, text: str, permanent: bool) -> None:
        super().__init__(text)
        self.permanent = permanent


@dataclass
class OAuthConfig:
    method: str  # xoauth2_google | xoauth2_microsoft
    client_id: str
    client_secret: str | None
    refresh_token: str
    token_url: str | None = None

    @property
    def url(self) -> str:
        return self.token_url or DEFAULT_TOKEN_URLS[self.method]


class TokenSource:
    """Gives a valid access token, refreshing it when it is (about to be) expired."""

    def __init__(self, config: OAuthConfig, clock=time.monotonic) -> None:
        self.config, self._clock = config, clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at - _EARLY:
                await self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the server rejected it)."""
        self._token = None

    async def _refresh(self) -> None:
        form = {"grant_type": "refresh_token", "client_id": self.config.client_id,
                "refresh_token": self.config.refresh_token}
        if self.config.client_secret:
            form["client_secret"] = self.config.client_secret
        if self.config.method == "xoauth2_microsoft":
            form["scope"] = SCOPES[self.config.method]
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(self.config.url, data=form)
        except httpx.HTTPError as exc:
            raise OAuthError(f"token endpoint unreachable: {exc}", permanent=False) from exc
        if response.status_code >= 500:
            raise OAuthError(f"token endpoint answered {response.status_code}", permanent=False)
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code != 200 or "access_token" not in data:
            reason = data.get("error_description") or data.get("error") or response.text[:200]
            raise OAuthError(f"token refresh refused ({response.status_code}): {reason}",
                             permanent=True)
        self._token = data["access_token"]
        self._expires_at = self._clock() + float(data.get("expires_in", 3600))
        self.refreshes += 1
