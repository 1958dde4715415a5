"""Twilio webhooks: inbound messages, status callbacks, and the signed media links.

Signatures are checked with twilio's RequestValidator over the URL Twilio called, rebuilt
from THREADLINE_PUBLIC_URL (behind a proxy the request's own URL differs) plus the query.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from twilio.request_validator import RequestValidator

from bridges.twilio import media_links
from bridges.twilio.api import TwilioApi
from bridges.twilio.parse import FormError, TwilioMessage, parse_form, parse_inbound, parse_status
from bridges.whatsapp_common.media import (
    MediaTooLarge,
    default_filename,
    download_failed_note,
    join_body,
    limit_for,
    too_large_note,
)
from core.delivery import DeliveryError
from core.errors import InvalidInput
from core.inbound import InboundMessage, InboundResult
from core.model import Attachment, Channel, DeliveryStatus
from core.ports import FileStore

log = logging.getLogger("threadline.twilio")

SURFACE = "twilio"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@dataclass(frozen=True)
class TwilioNumber:
    account: str
    api: TwilioApi


class TwilioWebhook:
    def __init__(self, numbers: dict[str, TwilioNumber], public_url: str,
                 receive: Callable[[InboundMessage], Awaitable[InboundResult]], inbox,
                 files: FileStore, clock) -> None:
        self.numbers = numbers  # by our E.164 number
        self.public_url = public_url.rstrip("/")
        self.tokens = sorted({n.api.auth_token for n in numbers.values()})
        self.receive, self.inbox, self.files, self.clock = receive, inbox, files, clock

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/webhooks/twilio", self.inbound, methods=["POST"])
        router.add_api_route("/webhooks/twilio/status", self.status, methods=["POST"])
        router.add_api_route(media_links.PATH + "/{token}", self.media, methods=["GET"])
        return router

    async def _signed_form(self, request: Request) -> dict[str, str] | Response:
        body = await request.body()
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            # Checked before the signature: Twilio signs form parameters only.
            return _error(415 if ctype else 400, "content type must be "
                          f"application/x-www-form-urlencoded, got {ctype or 'none'}")
        try:
            form = parse_form(body)
        except FormError as exc:
            form = exc
        url = self.public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("x-twilio-signature", "")
        params = form if isinstance(form, dict) else {}
        if not signature or not any(RequestValidator(t).validate(url, params, signature)
                                    for t in self.tokens):
            return _error(403, "missing or invalid X-Twilio-Signature")
        if isinstance(form, FormError):
            return _error(400, str(form))
        return form

    async def inbound(self, request: Request):
        form = await self._signed_form(request)
        if isinstance(form, Response):
            return form
        try:
            parsed = parse_inbound(form)
        except FormError as exc:
            return _error(400, str(exc))
        number = self.numbers.get(parsed.to)
        if number is None:
            log.error("Twilio message to %s, which no account uses: add an account with "
                      "provider twilio and this address", parsed.to)
            return Response(EMPTY_TWIML, media_type="application/xml")
        try:
            await self._store(number, parsed)
        except InvalidInput as exc:
            log.error("Twilio message %s refused by the inbox: %s", parsed.sid, exc)
            return _error(400, str(exc))
        except Exception:
            log.exception("storing Twilio message %s failed; Twilio may retry", parsed.sid)
            return _error(500, "could not store the message")
        return Response(EMPTY_TWIML, media_type="application/xml")

    async def status(self, request: Request):
        form = await self._signed_form(request)
        if isinstance(form, Response):
            return form
        try:
            parsed = parse_status(form)
        except FormError as exc:
            return _error(400, str(exc))
        if parsed.status is not None:
            await self.inbox.record_delivery_by_provider_id(
                SURFACE, parsed.sid, DeliveryStatus(parsed.status), parsed.error_code,
                parsed.error_text)
        return Response(status_code=204)

    async def media(self, token: str, request: Request):
        q = request.query_params
        key = media_links.verify(self.tokens, token, q.get("e", ""), q.get("s", ""))
        if key is None:
            return _error(403, "invalid or expired media link")
        try:
            data = await self.files.get(key)
        except KeyError:
            return _error(404, "file not found")
        return Response(data, media_type=_content_type_of(key))

    async def _store(self, number: TwilioNumber, parsed: TwilioMessage) -> InboundResult:
        existing = await self.inbox.find_link(SURFACE, parsed.sid)
        if existing is not None:
            return InboundResult(existing.conversation_id, existing.message_id, duplicate=True)
        notes, attachments = [], []
        for i, ref in enumerate(parsed.media):
            filename = default_filename(ref.kind, f"{parsed.sid}-{i}", ref.content_type)
            attachment = Attachment(filename, ref.content_type, 0)
            attachments.append(attachment)
            try:
                data, ctype = await number.api.download(ref.ref, limit_for(ref.kind))
            except MediaTooLarge as exc:
                attachment.size = exc.size
                notes.append(too_large_note(ref.kind, filename, exc.size))
                continue
            except DeliveryError as exc:
                log.warning("Twilio media %s not downloaded: %s", ref.ref, exc)
                parsed.meta.setdefault("media_errors", []).append({"url": ref.ref,
                                                                   "error": str(exc)})
                notes.append(download_failed_note(ref.kind, filename, exc.text))
                continue
            attachment.size = len(data)
            attachment.storage_key = await self.files.put(data, filename, ref.content_type)
        body = join_body(parsed.body, *notes)
        if parsed.context_id:
            quoted = await self.inbox.message_by_provider_id(SURFACE, parsed.context_id)
            if quoted is not None and quoted.body:
                text = " ".join(quoted.body.split())
                body = join_body("> " + (text if len(text) <= 120 else text[:119] + "…"), body)
            parsed.meta["context"] = {"id": parsed.context_id}
        return await self.receive(InboundMessage(
            channel=Channel.WHATSAPP, account=number.account, provider=SURFACE,
            provider_message_id=parsed.sid, sender=parsed.sender,
            sender_name=parsed.sender_name, body=body, received_at=self.clock.now(),
            attachments=attachments, meta=parsed.meta))


def _content_type_of(key: str) -> str:
    import mimetypes

    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
