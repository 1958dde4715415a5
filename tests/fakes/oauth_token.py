"""A fake OAuth2 token endpoint (refresh_token grant) on loopback, port 0.

Speaks what Google's and Microsoft's token endpoints speak: form POST, JSON answer with
access_token / expires_in, or 400 `invalid_grant` for an unknown refresh token.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from urllib.parse import parse_qs


class FakeTokenServer:
    host = "127.0.0.1"

    def __init__(self, client_id: str, refresh_token: str, expires_in: int = 3600,
                 email: str | None = None) -> None:
        self.client_id, self.refresh_token, self.expires_in = client_id, refresh_token, expires_in
        self.email = email  # whom the issued tokens belong to (for /tokeninfo)
        self.tokeninfo_requests: list[str] = []
        self.requests: list[dict[str, str]] = []
        self.issued: list[str] = []
        self._numbers = itertools.count(1)
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/token"

    @property
    def tokeninfo_url(self) -> str:
        """For an IMAP server validating XOAUTH2 bearer tokens (Dovecot's oauth2 passdb)."""
        return f"http://{self.host}:{self.port}/tokeninfo?access_token="

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            request_line = head.decode("latin-1").split("\r\n", 1)[0]
            if request_line.startswith("GET /tokeninfo"):
                await self._tokeninfo(request_line, writer)
                return
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self.requests.append(form)
            if (form.get("grant_type") == "refresh_token"
                    and form.get("client_id") == self.client_id
                    and form.get("refresh_token") == self.refresh_token):
                token = f"access-{next(self._numbers)}"
                self.issued.append(token)
                status, payload = "200 OK", {"access_token": token, "token_type": "Bearer",
                                             "expires_in": self.expires_in}
            else:
                status, payload = "400 Bad Request", {
                    "error": "invalid_grant", "error_description": "Token has been revoked."}
            data = json.dumps(payload).encode()
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                         + data)
            await writer.drain()
        finally:
            writer.close()

    async def _tokeninfo(self, request_line: str, writer: asyncio.StreamWriter) -> None:
        query = request_line.split(" ")[1].partition("?")[2]
        token = parse_qs(query).get("access_token", [""])[0]
        self.tokeninfo_requests.append(token)
        if token in self.issued:
            status, payload = "200 OK", {"active": True, "email": self.email}
        else:
            status, payload = "401 Unauthorized", {"error": "invalid_token"}
        data = json.dumps(payload).encode()
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                     + data)
        await writer.drain()

    async def __aenter__(self) -> FakeTokenServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
