"""A small Graph API client for WhatsApp: media download/upload, sending, template pages.

Errors are mapped to core.delivery so the outbox knows whether to retry (see `graph_error`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from bridges.http_outcome import transport_error
from bridges.whatsapp_common.media import MediaTooLarge
from bridges.whatsapp_common.media_urls import MediaUrlPolicy, origin_of, read_capped
from core.delivery import (
    DeliveryError,
    OutcomeUnknown,
    PermanentError,
    RetryAfter,
    TransientError,
)

log = logging.getLogger("threadline.whatsapp_cloud")

DEFAULT_RETRY_SECONDS = 60.0  # Meta does not say when throughput limits lift
WINDOW_CODES = {"131047"}
THROTTLE_CODES = {"130429", "131056", "4", "80007"}
TOKEN_CODES = {"190"}
# Where Meta's media-info `url` may point: lookaside.fbsbx.com today. Our bearer token goes
# with the request, so nothing else (and no http, no other port) is ever fetched.
META_MEDIA_HOSTS = ("*.fbsbx.com", "*.facebook.com", "*.whatsapp.net")


def media_policy(base_url: str) -> MediaUrlPolicy:
    """Meta's media hosts over https, plus exactly the configured Graph origin (the fake
    Graph API in tests, a proxy), which already gets the token for every other call."""
    origin = origin_of(base_url)
    return MediaUrlPolicy(META_MEDIA_HOSTS, frozenset({"https"}),
                          frozenset({origin} if origin else ()), "Meta")


def graph_error(status: int, body: object, headers: httpx.Headers | None = None) -> DeliveryError:
    """Meta's `{"error": {code, message, error_data.details}}` -> retry, wait or give up."""
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    code = str(err.get("code")) if err.get("code") is not None else None
    data = err.get("error_data") if isinstance(err.get("error_data"), dict) else {}
    text = str(data.get("details") or err.get("message") or f"HTTP {status}")
    if code in WINDOW_CODES:
        return PermanentError(f"outside the 24 h window: use a template ({text})", code)
    if status == 429 or code in THROTTLE_CODES:
        raw = (headers or {}).get("retry-after")
        try:
            seconds = float(raw) if raw is not None else DEFAULT_RETRY_SECONDS
        except ValueError:
            seconds = DEFAULT_RETRY_SECONDS
        return RetryAfter(seconds, f"WhatsApp rate limit: {text}", code or str(status))
    if code in TOKEN_CODES:
        log.error("WhatsApp Cloud API access token expired or invalid: renew "
                  "WHATSAPP_CLOUD_TOKEN (%s)", text)
        return PermanentError(f"access token expired: renew WHATSAPP_CLOUD_TOKEN ({text})", code)
    if status >= 500:
        return TransientError(f"Graph API HTTP {status}: {text}", code or str(status))
    return PermanentError(text, code or str(status))


def _redirect_host(response: httpx.Response) -> str:
    """Only the host of a redirect target, for the log (its query may be signed)."""
    try:
        return response.url.join(response.headers.get("location", "")).host or "no host"
    except (httpx.InvalidURL, ValueError):
        return "an invalid URL"


@dataclass(frozen=True, slots=True)
class MediaInfo:
    url: str
    content_type: str
    size: int | None


class GraphClient:
    def __init__(self, base_url: str, token: str, http: httpx.AsyncClient) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.http = http
        self.media_policy = media_policy(self.base)

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _call(self, method: str, path: str, **kw) -> dict:
        try:
            response = await self.http.request(method, f"{self.base}/{path.lstrip('/')}",
                                               headers=self._auth, **kw)
        except httpx.HTTPError as exc:
            raise transport_error(exc, "Graph API") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
            raise graph_error(response.status_code, body, response.headers)
        if not isinstance(body, dict):
            raise TransientError(f"Graph API answered HTTP {response.status_code} without JSON")
        return body

    # -- media ------------------------------------------------------------------------
    async def media_info(self, media_id: str) -> MediaInfo:
        body = await self._call("GET", media_id)
        if not body.get("url"):
            raise PermanentError(f"media {media_id} has no download url")
        size = body.get("file_size")
        return MediaInfo(str(body["url"]), str(body.get("mime_type") or ""),
                         int(size) if str(size or "").isdigit() else None)

    async def download_media(self, media_id: str, limit: int) -> tuple[bytes, str]:
        """Both steps for a media id: (bytes, MIME type). MediaTooLarge when Meta announces
        more than `limit` (nothing is fetched then) or the bytes pass it."""
        info = await self.media_info(quote(media_id, safe=""))
        if info.size is not None and info.size > limit:
            raise MediaTooLarge(info.size)
        return await self.download(info.url, limit), info.content_type

    async def download(self, url: str, limit: int) -> bytes:
        """Step two of Meta's download: the short-lived url, with the same bearer token, so
        only a Meta media host (or the configured Graph origin) is asked. Streams and stops
        at `limit` so an oversized file never fills memory."""
        refusal = self.media_policy.refusal(url)
        if refusal:
            raise PermanentError(f"media URL refused: {refusal}")
        try:
            async with self.http.stream("GET", url, headers=self._auth,
                                        follow_redirects=False) as response:
                if 300 <= response.status_code < 400:
                    # Meta documents this GET as answering the file itself (200, binary);
                    # a redirect is not part of that contract, so it is not followed (the
                    # token would go along) and its body is never stored as the file.
                    log.warning("media URL on %s answered HTTP %d (redirect to %s)",
                                response.url.host, response.status_code,
                                _redirect_host(response))
                    raise PermanentError(
                        f"media URL answered HTTP {response.status_code} (a redirect) instead "
                        "of the file; Meta serves media directly, so it was not followed",
                        str(response.status_code))
                if not 200 <= response.status_code < 300:
                    await response.aread()
                    try:
                        body = response.json()
                    except ValueError:
                        body = None
                    raise graph_error(response.status_code, body, response.headers)
                return await read_capped(response, limit)
        except httpx.HTTPError as exc:
            raise TransientError(f"media download failed: {exc!r}") from exc

    async def upload(self, phone_number_id: str, data: bytes, filename: str,
                     content_type: str) -> str:
        try:
            body = await self._call(
                "POST", f"{phone_number_id}/media",
                data={"messaging_product": "whatsapp", "type": content_type},
                files={"file": (filename, data, content_type)},
            )
        except OutcomeUnknown as exc:  # an upload is no message: the customer got nothing
            raise TransientError(exc.text, exc.code) from exc
        if not body.get("id"):
            raise TransientError("media upload answered without an id")
        return str(body["id"])

    # -- messages and templates ------------------------------------------------------
    async def send(self, phone_number_id: str, payload: dict) -> str:
        body = await self._call("POST", f"{phone_number_id}/messages",
                                json={"messaging_product": "whatsapp", **payload})
        messages = body.get("messages")
        if not (isinstance(messages, list) and messages and isinstance(messages[0], dict)
                and messages[0].get("id")):
            raise TransientError("send answered without messages[0].id")
        return str(messages[0]["id"])

    async def template_pages(self, waba_id: str, page_size: int = 100):
        """Yield each page's templates. Follows the `after` cursor against our own base URL
        (never the `next` URL's host: the token must only go to the configured Graph)."""
        params = {"limit": str(page_size),
                  "fields": "name,language,status,category,components,parameter_format"}
        seen: set[str] = set()
        while True:
            body = await self._call("GET", f"{waba_id}/message_templates", params=params)
            data = body.get("data")
            yield [t for t in data if isinstance(t, dict)] if isinstance(data, list) else []
            paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
            cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
            after = cursors.get("after")
            if not paging.get("next") or not after or after in seen:
                return
            seen.add(after)
            params = {**params, "after": str(after)}
