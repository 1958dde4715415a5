"""A real SMTP server (aiosmtpd) on loopback, port 0, recording what it receives.

    async with RecordingSmtpServer(users={"bot": "pw"}) as smtp:
        smtp.port; smtp.messages[0].parsed["Subject"]

Recipients decide failures: `temp-fail@...` gets 451 (try later), `reject@...` 550.
AUTH PLAIN/LOGIN check `users`; AUTH XOAUTH2 checks the bearer token against `tokens`.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None

    @property
    def parsed(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore


class _Handler:
    def __init__(self, server: RecordingSmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "temp-fail":
            return "451 4.3.0 mailbox temporarily unavailable"
        if local == "reject":
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        data = session.auth_data
        login = data.decode() if isinstance(data, bytes) else data
        self.server.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos),
                                                 envelope.original_content or envelope.content,
                                                 login))
        self.server.received.set()
        if self.server.drop_next_answer:  # taken, but the line breaks before the 250
            self.server.drop_next_answer = False
            smtp.transport.close()
        return "250 Message accepted for delivery"

    async def auth_XOAUTH2(self, server, args):
        blob = args[1] if len(args) > 1 else await server.challenge_auth("", encode_to_b64=False)
        if not isinstance(blob, (str, bytes)):
            return AuthResult(success=False)
        raw = base64.b64decode(blob).decode() if isinstance(blob, str) else blob.decode()
        fields = dict(part.split("=", 1) for part in raw.split("\x01") if "=" in part)
        token = fields.get("auth", "").removeprefix("Bearer ")
        user = fields.get("user", "")
        if self.server.tokens.get(user) == token:
            return AuthResult(success=True, auth_data=user.encode())
        return AuthResult(success=False, handled=False)


class RecordingSmtpServer:
    host = "127.0.0.1"

    def __init__(self, users: dict[str, str] | None = None,
                 tokens: dict[str, str] | None = None) -> None:
        self.users = users or {}
        self.tokens = tokens or {}  # user -> the access token XOAUTH2 must present
        self.messages: list[ReceivedMail] = []
        self.drop_next_answer = False  # keep the next mail, close before answering 250
        self.received = asyncio.Event()
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    async def start(self) -> None:
        handler = _Handler(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(handler, auth_require_tls=False, authenticator=self._authenticate,
                         auth_exclude_mechanism=[] if self.users else ["PLAIN", "LOGIN"]),
            self.host, self.port)  # after stop(): the same port again, like a restart
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> RecordingSmtpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
