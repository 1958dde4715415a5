"""Twilio webhooks: inbound messages, status callbacks, and the signed media links.

Order of work: cap the body while reading it (413), content type, then the signature,
checked with twilio's RequestValidator over the URL Twilio called, rebuilt from
THREADLINE_PUBLIC_URL (behind a proxy the request's own URL differs) plus the query, then
the form (400). Media are not downloaded here: allowed MediaUrls become pending
attachments fetched by a `fetch_media:twilio` job; refused ones are noted in the body.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from twilio.request_validator import RequestValidator

from bridges.http_body import BodyTooLarge, read_capped
from bridges.twilio import media_links
from bridges.twilio.api import TwilioApi
from bridges.twilio.parse import (
    FormError,
    TwilioMessage,
    form_of,
    parse_inbound,
    parse_pairs,
    parse_status,
    signed_params,
)
from bridges.whatsapp_common.media import (
    default_filename,
    download_failed_note,
    join_body,
    pending_attachment,
)
from core.errors import InvalidInput
from core.inbound import InboundMessage, InboundResult
from core.model import Attachment, Channel, DeliveryStatus
from core.ports import FileStore

log = logging.getLogger("threadline.twilio")

SURFACE = "twilio"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio's webhooks are small form posts: Body up to 1600 characters (under 20 KB even
# fully percent-encoded), at most 10 media URLs, a few dozen parameters. 256 KB leaves
# room for parameters Twilio adds without notice, and it also bounds the work done before
# the signature can be checked (Twilio signs the decoded parameters, so we parse first).
MAX_BODY = 256 * 1024


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
        try:
            body = await read_capped(request, MAX_BODY)
        except BodyTooLarge as exc:
            return _error(413, str(exc))
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            # Checked before the signature: Twilio signs form parameters only.
            return _error(415 if ctype else 400, "content type must be "
                          f"application/x-www-form-urlencoded, got {ctype or 'none'}")
        try:
            pairs, problem = parse_pairs(body), None
        except FormError as exc:
            pairs, problem = [], exc
        url = self.public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("x-twilio-signature", "")
        params = signed_params(pairs)
        if not signature or not any(RequestValidator(t).validate(url, params, signature)
                                    for t in self.tokens):
            return _error(403, "missing or invalid X-Twilio-Signature")
        if problem is not None:
            return _error(400, str(problem))
        try:
            return form_of(pairs)
        except FormError as exc:
            return _error(400, str(exc))

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
        notes, attachments = [], []
        for i, ref in enumerate(parsed.media):
            filename = default_filename(ref.kind, f"{parsed.sid}-{i}", ref.content_type)
            refusal = number.api.media_policy.refusal(ref.ref)
            if refusal is None:
                attachments.append(pending_attachment(ref, filename, i, parsed.meta))
                continue
            log.warning("Twilio media of %s refused: %s", parsed.sid, refusal)
            attachments.append(Attachment(filename, ref.content_type, 0))
            parsed.meta.setdefault("media_errors", []).append({"index": i, "reason": refusal})
            notes.append(download_failed_note(ref.kind, filename, f"media URL refused: {refusal}"))
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
