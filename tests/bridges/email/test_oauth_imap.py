"""XOAUTH2 against a real IMAP server: Dovecot checks the bearer token with the token
service, as Gmail and Office 365 do; Threadline gets it by refresh-token grant."""

from __future__ import annotations

import pytest

from tests.bridges.email.conftest import (
    customer_mail,
    email_settings,
    eventually,
    inbound_count,
    start_sync,
)
from tests.fakes.dovecot import DovecotServer, DovecotUnavailable
from tests.fakes.oauth_token import FakeTokenServer
from threadline.config import ThreadlineConfig
from threadline.runtime import Runtime


async def _is(value_coro, expected) -> bool:
    return await value_coro == expected


async def test_mailbox_syncs_over_xoauth2_with_a_refreshed_token(db_url, engine, mailbox_user,
                                                                 smtp, tmp_path):
    async with FakeTokenServer("client-1", "refresh-1", email=mailbox_user) as tokens:
        try:
            server = DovecotServer(password="not-used-here",
                                   oauth_tokeninfo_url=tokens.tokeninfo_url)
            server.start()
        except DovecotUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        runtime = None
        try:
            server.append(mailbox_user, customer_mail(mailbox_user, subject="Via OAuth"))
            settings = email_settings(
                db_url, server, mailbox_user, smtp.port, tmp_path / "files",
                EMAIL_AUTH="xoauth2_google", EMAIL_OAUTH_CLIENT_ID="client-1",
                EMAIL_OAUTH_REFRESH_TOKEN="refresh-1", EMAIL_OAUTH_TOKEN_URL=tokens.url)
            settings = settings.model_copy(update={"email_imap_password": None})
            runtime = Runtime(settings, ThreadlineConfig(), engine=engine)
            assert await runtime.leader.try_acquire()
            await start_sync(runtime)
            await eventually(lambda: _is(inbound_count(runtime), 1), "the mail read via XOAUTH2")
            assert tokens.requests[0]["grant_type"] == "refresh_token"
            assert tokens.tokeninfo_requests and tokens.tokeninfo_requests[0] in tokens.issued
            assert "method=XOAUTH2" in server.log_tail()
        finally:
            if runtime is not None:
                await runtime.close()
                await runtime.leader.release()
            server.close()


async def test_a_token_the_server_rejects_is_not_a_login(mailbox_user):
    import asyncio

    from imapclient import IMAPClient
    from imapclient.exceptions import LoginError

    async with FakeTokenServer("client-1", "refresh-1", email=mailbox_user) as tokens:
        server = DovecotServer(password="pw", oauth_tokeninfo_url=tokens.tokeninfo_url)
        server.start()
        try:
            def login():
                client = IMAPClient(server.host, port=server.port, ssl=False)
                try:
                    client.oauth2_login(mailbox_user, "forged-token")
                finally:
                    client.shutdown()

            with pytest.raises(LoginError):
                await asyncio.to_thread(login)
            assert tokens.tokeninfo_requests == ["forged-token"]
        finally:
            server.close()
