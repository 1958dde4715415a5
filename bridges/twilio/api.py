"""Twilio REST calls: send through the twilio SDK (on httpx), media from Twilio's hosts only
(every redirect hop checked), and Content templates. Errors become core.delivery errors."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from bridges.http_outcome import transport_error
from bridges.twilio.http_client import HttpxTwilioClient, last_headers
from bridges.twilio.media_policy import MediaPolicy
from bridges.whatsapp_common.media_urls import read_capped
from core.delivery import DeliveryError, PermanentError, RetryAfter, TransientError

log = logging.getLogger("threadline.twilio")

DEFAULT_API = "https://api.twilio.com"
DEFAULT_CONTENT = "https://content.twilio.com"
DEFAULT_RETRY_SECONDS = 30.0
TWILIO_API_HOSTS = {"api.twilio.com"}
MAX_REDIRECTS = 5
THROTTLE_CODES = {"20429", "63018", "14107"}
AUTH_CODES = {"20003", "20005"}


def content_base(api_url: str) -> str:
    """Content API base: Twilio's own host, or the same base when TWILIO_API_URL points
    at a fake or a proxy (which then serves /v1/Content too)."""
    if urlsplit(api_url).hostname in TWILIO_API_HOSTS:
        return DEFAULT_CONTENT
    return api_url.rstrip("/")


def twilio_error(exc: TwilioRestException, headers: dict[str, str]) -> DeliveryError:
    code = str(exc.code) if exc.code is not None else str(exc.status)
    text = str(exc.msg or f"HTTP {exc.status}")
    if code == "63016":
        return PermanentError(f"outside the 24 h window: use a template ({text})", code)
    if exc.status == 429 or code in THROTTLE_CODES:
        try:
            seconds = float(headers.get("retry-after", DEFAULT_RETRY_SECONDS))
        except ValueError:
            seconds = DEFAULT_RETRY_SECONDS
        return RetryAfter(seconds, f"Twilio rate limit: {text}", code)
    if exc.status in (401, 403) or code in AUTH_CODES:
        log.error("Twilio rejected the credentials: check TWILIO_ACCOUNT_SID and "
                  "TWILIO_AUTH_TOKEN (%s)", text)
        return PermanentError(f"Twilio authentication failed: {text}", code)
    if exc.status >= 500:
        return TransientError(f"Twilio HTTP {exc.status}: {text}", code)
    return PermanentError(text, code)


class TwilioApi:
    def __init__(self, account_sid: str, auth_token: str, api_url: str,
                 http: httpx.AsyncClient, media_policy: MediaPolicy | None = None) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.api_url = api_url.rstrip("/") or DEFAULT_API
        self.http = http
        self.client = Client(account_sid, auth_token, http_client=HttpxTwilioClient(http))
        self.client.api.base_url = self.api_url
        self.client.content.base_url = content_base(self.api_url)
        self.media_policy = media_policy or MediaPolicy()  # the composition root decides

    async def send(self, *, from_: str, to: str, body: str | None = None,
                   media_urls: list[str] | None = None, content_sid: str | None = None,
                   content_variables: dict[str, str] | None = None,
                   status_callback: str | None = None) -> str:
        kw: dict = {"from_": from_, "to": to}
        if content_sid:
            kw["content_sid"] = content_sid
            if content_variables:
                kw["content_variables"] = json.dumps(content_variables, ensure_ascii=False)
        else:
            if body:
                kw["body"] = body
            if media_urls:
                kw["media_url"] = media_urls
        if status_callback:
            kw["status_callback"] = status_callback
        try:
            message = await self.client.messages.create_async(**kw)
        except TwilioRestException as exc:
            raise twilio_error(exc, last_headers.get()) from exc
        except httpx.HTTPError as exc:
            raise transport_error(exc, "Twilio") from exc
        except TwilioException as exc:
            raise TransientError(f"Twilio unreachable: {exc!r}") from exc
        if not message.sid:
            raise TransientError("Twilio answered without a message sid")
        return message.sid

    async def find_sent(self, *, from_: str, to: str, body: str, since: datetime
                        ) -> str | None:
        """The sid of a message from `from_` to `to` with exactly this body, created at or
        after `since`, if Twilio has one (the newest first, a page of 20 is enough: this
        runs only for a send whose outcome a crash left unknown)."""
        try:
            found = await self.client.messages.list_async(to=to, from_=from_, limit=20)
        except TwilioRestException as exc:
            raise twilio_error(exc, last_headers.get()) from exc
        except (httpx.HTTPError, TwilioException) as exc:
            raise TransientError(f"Twilio unreachable: {exc!r}") from exc
        for message in found:
            created = message.date_created
            if message.body == body and (created is None or created >= since):
                return message.sid
        return None

    async def download(self, url: str, limit: int) -> tuple[bytes, str]:
        """MediaUrl{N}: (bytes, content type). Redirects are followed here, at most
        MAX_REDIRECTS, each hop checked against the media policy first. The account's Basic
        auth goes with the first request only: the CDN URL Twilio redirects to is signed."""
        auth: tuple[str, str] | None = (self.account_sid, self.auth_token)
        for hop in range(MAX_REDIRECTS + 1):
            refusal = self.media_policy.refusal(url)
            if refusal:
                what = "media redirect" if hop else "media URL"
                raise PermanentError(f"{what} refused: {refusal}")
            try:
                async with self.http.stream("GET", url, auth=auth,
                                            follow_redirects=False) as response:
                    if not response.is_redirect:
                        return await _read_media(response, limit)
                    try:
                        url = str(response.url.join(response.headers["location"]))
                    except (httpx.InvalidURL, ValueError):
                        raise PermanentError("media redirect to an invalid URL") from None
                    auth = None
            except httpx.HTTPError as exc:
                raise TransientError(f"media download failed: {exc!r}") from exc
        raise PermanentError(f"media URL refused: more than {MAX_REDIRECTS} redirects")

    async def content_templates(self) -> list[dict]:
        """Every Content template with its WhatsApp approval, following Twilio's paging."""
        try:
            items = await self.client.content.v1.content_and_approvals.list_async(page_size=100)
        except TwilioRestException as exc:
            raise twilio_error(exc, last_headers.get()) from exc
        return [{"sid": i.sid, "friendly_name": i.friendly_name, "language": i.language,
                 "variables": i.variables or {}, "types": i.types or {},
                 "approval_requests": i.approval_requests or {}} for i in items]


async def _read_media(response: httpx.Response, limit: int) -> tuple[bytes, str]:
    if not 200 <= response.status_code < 300:
        error = TransientError if response.status_code >= 500 else PermanentError
        raise error(f"media HTTP {response.status_code}", str(response.status_code))
    return await read_capped(response, limit), response.headers.get("content-type", "")
