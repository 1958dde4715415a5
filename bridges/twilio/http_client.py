"""twilio-python's async HTTP client interface implemented on httpx.

The SDK's own async client hides response headers from its exceptions; we need Retry-After
on a 429, so the last response's headers are kept in a context variable the caller reads
after catching TwilioRestException (same task, so concurrent sends do not mix them up).
"""

from __future__ import annotations

import contextvars
import logging

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

last_headers: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar(
    "twilio_last_headers", default={})  # noqa: B039 - never mutated, only replaced

_log = logging.getLogger("threadline.twilio.http")


class HttpxTwilioClient(AsyncHttpClient):
    def __init__(self, http: httpx.AsyncClient, timeout: float | None = 30.0) -> None:
        super().__init__(_log, True, timeout)
        self.http = http

    async def request(self, method, url, params=None, data=None, headers=None, auth=None,
                      timeout=None, allow_redirects=False) -> Response:
        response = await self.http.request(
            method.upper(), url, params=params, data=data, headers=headers,
            auth=httpx.BasicAuth(*auth) if auth else None,
            timeout=timeout if timeout is not None else self.timeout,
            follow_redirects=allow_redirects,
        )
        last_headers.set({k.lower(): v for k, v in response.headers.items()})
        return Response(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self.http.aclose()
