"""Outgoing mail headers, SMTP error mapping, OAuth token refresh and XOAUTH2, parser fuzz."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridges.email.compose import (
    OutgoingMail,
    build_mail,
    is_our_message_id,
    make_message_id,
    mark_automatic,
)
from bridges.email.config import MailboxConfig
from bridges.email.headers import message_ids, normalize_message_id, reply_subject
from bridges.email.oauth import OAuthConfig, OAuthError, TokenSource
from bridges.email.parsing import parse_bytes, parse_email, synthetic_message_id
from bridges.email.reply_text import split_reply
from bridges.email.smtp_sender import send_mail
from core.delivery import PermanentError, TransientError
from tests.fakes.oauth_token import FakeTokenServer
from tests.fakes.smtp_server import RecordingSmtpServer

T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _mail(**kw) -> OutgoingMail:
    base = dict(from_address="help@acme.example", from_name="Acme Support",
                to_address="ana@customer.example", to_name="Ana Pérez", subject="Pedido",
                body="Hola Ana", message_id="<threadline.1.x@acme.example>", date=T)
    return OutgoingMail(**{**base, **kw})


@pytest.mark.parametrize("subject, expected", [
    ("Pedido", "Re: Pedido"), ("Re: Pedido", "Re: Pedido"), ("RE: re: Pedido", "Re: Pedido"),
    ("Fwd: Re: Pedido", "Re: Pedido"), ("RV: Pedido", "Re: Pedido"), ("", "Re:"),
    ("Aw: Bestellung", "Re: Bestellung"),
])
def test_reply_subject_never_doubles_re(subject, expected):
    assert reply_subject(subject) == expected


def test_message_id_is_stable_per_message_and_ours():
    a = make_message_id("email", "help@acme.example", 3, 17, T)
    assert a == make_message_id("email", "help@acme.example", 3, 17, T)  # a retry reuses it
    assert a != make_message_id("email", "help@acme.example", 3, 18, T)
    assert a.endswith("@acme.example>") and is_our_message_id(a)
    assert not is_our_message_id("<CAJx@mail.gmail.example>")


def test_threading_headers_and_alternatives():
    msg = build_mail(_mail(thread_ids=["<a@x>", "<b@y>"]), reply=True)
    assert msg["In-Reply-To"] == "<b@y>" and msg["References"] == "<a@x> <b@y>"
    assert msg["Subject"] == "Re: Pedido"
    assert str(msg["To"]) == "Ana Pérez <ana@customer.example>"
    assert msg.get_content_type() == "multipart/alternative"
    assert "<p>Hola Ana</p>" in msg.get_body(("html",)).get_content()
    assert msg["Auto-Submitted"] is None


def test_automatic_mail_is_marked_against_loops():
    msg = build_mail(_mail(automatic=True), reply=False)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    # and our own parser would never answer it
    assert parse_email(msg.as_bytes()).automated
    from email.message import EmailMessage
    assert mark_automatic(EmailMessage())["Auto-Submitted"] == "auto-replied"


def test_message_id_helpers():
    assert normalize_message_id("  <abc@x>  ") == "<abc@x>"
    assert normalize_message_id("abc@x") == "<abc@x>"
    assert normalize_message_id("") is None
    assert message_ids("<a@x>\r\n <b@y> <a@x>") == ["<a@x>", "<b@y>"]
    raw = b"From: a@b.example\r\n\r\nhi\r\n"
    assert synthetic_message_id("email", raw) == synthetic_message_id("email", raw)


def test_bottom_and_interleaved_quotes():
    text = "> question one?\nAnswer one.\n> question two?\nAnswer two.\n"
    assert split_reply(text).new_text == "Answer one.\nAnswer two."
    forward = "---------- Forwarded message ---------\nFrom: x@y.example\n\nbody"
    assert split_reply(forward).new_text.startswith("---------- Forwarded")  # kept whole


# -- SMTP --------------------------------------------------------------------------------

def _smtp_config(port: int, **kw) -> MailboxConfig:
    return MailboxConfig(account="email", address="help@acme.example", imap_host="127.0.0.1",
                         imap_user="u", smtp_host="127.0.0.1", smtp_port=port,
                         smtp_starttls=False, **kw)


async def test_smtp_codes_map_to_retry_or_final():
    async with RecordingSmtpServer() as server:
        cfg = _smtp_config(server.port)
        with pytest.raises(TransientError) as temp:
            await asyncio.to_thread(send_mail, cfg, build_mail(_mail(), False),
                                    ["temp-fail@customer.example"])
        assert temp.value.code == "451"
        with pytest.raises(PermanentError) as final:
            await asyncio.to_thread(send_mail, cfg, build_mail(_mail(), False),
                                    ["reject@customer.example"])
        assert final.value.code == "550" and "no such user" in final.value.text
    with pytest.raises(TransientError) as down:  # the server is gone now
        await asyncio.to_thread(send_mail, cfg, build_mail(_mail(), False), ["a@b.example"])
    assert down.value.code == "connect"


# -- OAuth -------------------------------------------------------------------------------

async def test_token_refresh_is_cached_until_expiry():
    async with FakeTokenServer("client-1", "refresh-1", expires_in=3600) as fake:
        now = [1000.0]
        tokens = TokenSource(OAuthConfig("xoauth2_google", "client-1", "s3cret", "refresh-1",
                                         fake.url), clock=lambda: now[0])
        assert await tokens.token() == "access-1"
        assert await tokens.token() == "access-1"  # cached
        now[0] += 3600 - 30  # inside the early-refresh margin
        assert await tokens.token() == "access-2"
        assert fake.requests[0]["grant_type"] == "refresh_token"
        assert fake.requests[0]["client_secret"] == "s3cret"


async def test_microsoft_refresh_sends_scopes_and_revoked_token_is_permanent():
    async with FakeTokenServer("client-1", "refresh-1") as fake:
        ok = TokenSource(OAuthConfig("xoauth2_microsoft", "client-1", None, "refresh-1",
                                     fake.url))
        await ok.token()
        assert "SMTP.Send" in fake.requests[-1]["scope"]
        revoked = TokenSource(OAuthConfig("xoauth2_google", "client-1", None, "old", fake.url))
        with pytest.raises(OAuthError) as exc:
            await revoked.token()
        assert exc.value.permanent and "revoked" in str(exc.value)


async def test_smtp_xoauth2_login_with_a_refreshed_token():
    async with FakeTokenServer("client-1", "refresh-1") as fake, \
            RecordingSmtpServer(tokens={"help@acme.example": "access-1"}) as server:
        tokens = TokenSource(OAuthConfig("xoauth2_google", "client-1", None, "refresh-1",
                                         fake.url))
        cfg = _smtp_config(server.port, smtp_user="help@acme.example")
        await asyncio.to_thread(send_mail, cfg, build_mail(_mail(), False),
                                ["ana@customer.example"], await tokens.token())
        assert server.messages[0].login == "help@acme.example"
        with pytest.raises(TransientError):  # a stale token: retried after a refresh
            await asyncio.to_thread(send_mail, cfg, build_mail(_mail(), False),
                                    ["ana@customer.example"], "expired-token")


# -- the parser never loses a message ------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8",
                                                                                   "replace")))
def test_parser_never_raises_on_garbage(raw):
    parsed = parse_email(raw)
    assert isinstance(parsed.new_text, str)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["utf-8", "iso-8859-1", "windows-1252",
                                                "x-unknown-charset"]))
def test_any_charset_decodes_or_degrades(body, charset):
    raw = (f"From: a@b.example\r\nSubject: =?{charset}?Q?caf=E9?=\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: text/plain; charset={charset}\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + body.encode("utf-8")
    parsed = parse_email(raw)
    assert parsed.sender_address == "a@b.example"
    assert parse_bytes(raw) is not None


# -- the integration's wiring --------------------------------------------------------------

def test_integration_off_without_mailbox_settings(tmp_path):
    from threadline.config import ThreadlineConfig
    from threadline.integrations import email as email_integration
    from threadline.runtime import Runtime
    from threadline.settings import Settings

    rt = Runtime(Settings(_env_file=None, THREADLINE_DATABASE_URL=f"sqlite+aiosqlite:///"
                          f"{tmp_path}/x.db", EMAIL_ADDRESS="help@acme.example"),
                 ThreadlineConfig())
    assert email_integration.build(rt) is None


def test_several_mailboxes_from_the_accounts_file(tmp_path):
    from threadline.config import parse_config
    from threadline.runtime import Runtime
    from threadline.settings import Settings

    cfg = parse_config({"accounts": [
        {"id": "sales", "channel": "email", "provider": "email", "address": "sales@acme.example",
         "settings": {"EMAIL_IMAP_HOST": "imap.acme.example", "EMAIL_IMAP_USER": "sales",
                      "EMAIL_IMAP_PASSWORD": "pw", "EMAIL_FROM_NAME": "Acme Sales"}},
        {"id": "gmail", "channel": "email", "provider": "email", "address": "help@acme.example",
         "settings": {"EMAIL_IMAP_HOST": "imap.gmail.com", "EMAIL_IMAP_USER": "help@acme.example",
                      "EMAIL_AUTH": "xoauth2_google", "EMAIL_OAUTH_CLIENT_ID": "cid",
                      "EMAIL_OAUTH_REFRESH_TOKEN": "rt", "EMAIL_SENT_FOLDER": "none"}},
        {"id": "broken", "channel": "email", "provider": "email", "address": "x@acme.example"},
    ]})
    settings = Settings(_env_file=None,
                        THREADLINE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    rt = Runtime(settings, cfg)
    email = next(i for i in rt.integrations if i.name == "email")
    assert set(email.mailboxes) == {"sales", "gmail"}  # "broken" has no IMAP settings
    sales, gmail = email.mailboxes["sales"].config, email.mailboxes["gmail"].config
    assert (sales.imap_host, sales.from_name, sales.auth) == ("imap.acme.example",
                                                              "Acme Sales", "password")
    assert gmail.auth == "xoauth2_google" and gmail.oauth is not None and gmail.is_gmail
    assert gmail.sent_folder == "" and email.handlers.keys() == {"send:email"}
