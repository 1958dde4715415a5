"""Meta webhook endpoint: verify, parse, hand every message and status to the core, then 200.

Order of work for one delivery: cap the body while reading it (413), check the signature
over the raw bytes (403, nothing stored), parse (400 with a reason when the body is not a
delivery at all), then the messages in one transaction, reactions, statuses, and the parts
we could not read (stored raw, listed in the answer). Media are not downloaded here: the
message is stored with a pending attachment and the core queues a `fetch_media` job with
it, so the ack never waits on Meta's media servers. Only after everything is stored do we
answer 200; a failure to store answers 500 so Meta redelivers, and dedupe (wamid; status
monotonicity) makes the redelivery harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from bridges.http_body import BodyTooLarge, read_capped
from bridges.whatsapp_cloud.graph import GraphClient
from bridges.whatsapp_cloud.parse import (
    STATUS_VALUES,
    ParsedDelivery,
    ParsedMessage,
    PayloadError,
    UnreadablePart,
    load_delivery,
    unreadable_part,
)
from bridges.whatsapp_common.media import default_filename, join_body, pending_attachment
from core.errors import InvalidInput
from core.inbound import InboundMessage, InboundResult
from core.model import Channel, DeliveryStatus
from core.ports import UnreadableInbound

log = logging.getLogger("threadline.whatsapp_cloud")

SURFACE = "whatsapp_cloud"
MAX_BODY = 3 * 1024 * 1024  # Meta: deliveries are up to 3 MB
QUOTE_CHARS = 120
MAX_LISTED = 20  # unreadable parts named in the answer (all are stored and logged)


def valid_signature(secrets: Iterable[str], body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    given = header.removeprefix("sha256=").strip().lower().encode()  # bytes: any header
    return any(
        hmac.compare_digest(hmac.new(s.encode(), body, hashlib.sha256).hexdigest().encode(),
                            given)
        for s in secrets
    )


@dataclass(frozen=True)
class CloudNumber:
    """One configured WhatsApp number: its account and the Graph client with its token."""

    account: str
    graph: GraphClient


class CloudWebhook:
    def __init__(
        self,
        numbers: dict[str, CloudNumber],  # by phone_number_id
        app_secrets: list[str],
        verify_tokens: list[str],
        receive_many: Callable[[list[InboundMessage]],
                               Awaitable[list[InboundResult | InvalidInput]]],
        inbox,
    ) -> None:
        self.numbers, self.app_secrets, self.verify_tokens = numbers, app_secrets, verify_tokens
        # A delivery's messages go through receive_many: one transaction per delivery.
        self.receive_many, self.inbox = receive_many, inbox

    # -- HTTP -------------------------------------------------------------------------
    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/webhooks/whatsapp", self.verify, methods=["GET"])
        router.add_api_route("/webhooks/whatsapp", self.post, methods=["POST"])
        return router

    async def verify(self, request: Request):
        q = request.query_params
        token = q.get("hub.verify_token") or ""
        if q.get("hub.mode") == "subscribe" and any(
            hmac.compare_digest(token.encode(), t.encode()) for t in self.verify_tokens
        ):
            return PlainTextResponse(q.get("hub.challenge") or "")
        return PlainTextResponse("verification failed: hub.mode or hub.verify_token is wrong",
                                 status_code=403)

    async def post(self, request: Request):
        try:
            body = await read_capped(request, MAX_BODY)
        except BodyTooLarge as exc:
            return _error(413, str(exc))
        if not valid_signature(self.app_secrets, body,
                               request.headers.get("x-hub-signature-256")):
            return _error(403, "missing or invalid X-Hub-Signature-256")
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            return _error(415 if ctype else 400,
                          f"content type must be application/json, got {ctype or 'none'}")
        try:
            delivery = load_delivery(body)
        except PayloadError as exc:
            return _error(400, str(exc))
        try:
            summary = await self.process(delivery)
        except Exception:
            log.exception("storing a WhatsApp delivery failed; Meta will redeliver it")
            return _error(500, "could not store the delivery; please retry")
        return JSONResponse({"ok": True, **summary})

    # -- processing ------------------------------------------------------------------------
    async def process(self, delivery: ParsedDelivery) -> dict:
        stored = duplicates = statuses = reactions = revisions = 0
        unrouted: set[str] = set()
        rejected: list[str] = []
        unreadable = list(delivery.unreadable)
        routed: list[tuple[ParsedMessage, InboundMessage]] = []
        bodies: dict[str, str] = {}  # this delivery's messages, for quotes among them
        for parsed in delivery.messages:
            number = self.numbers.get(parsed.phone_number_id)
            if number is None:
                unrouted.add(parsed.phone_number_id)
                continue
            inbound = await self._inbound(number, parsed, bodies)
            bodies.setdefault(parsed.wamid, inbound.body)
            routed.append((parsed, inbound))
        # One transaction for the delivery's messages: a failure answers 500 (redelivery).
        results = await self.receive_many([inbound for _, inbound in routed]) if routed else []
        for (parsed, _), result in zip(routed, results, strict=True):
            if isinstance(result, InvalidInput):  # e.g. a sender number the core refuses
                log.error("WhatsApp message %s refused by the inbox: %s", parsed.wamid, result)
                rejected.append(parsed.wamid)
                unreadable.append(unreadable_part(parsed.path, f"refused by the inbox: {result}",
                                                  parsed.item))
            elif result.duplicate:
                duplicates += 1
            else:
                stored += 1
                new_number = parsed.meta.get("new_wa_id")
                if new_number:  # the customer changed number: the contact follows
                    await self.inbox.contact_changed_number(
                        self.numbers[parsed.phone_number_id].account, parsed.sender,
                        new_number)
        for reaction in delivery.reactions:
            if reaction.phone_number_id not in self.numbers:
                unrouted.add(reaction.phone_number_id)
                continue
            if await self.inbox.react(SURFACE, reaction.target, reaction.emoji,
                                      reaction.sender, reaction.at):
                reactions += 1
        for revision in delivery.revisions:  # edits and deletions by the customer
            if revision.phone_number_id not in self.numbers:
                unrouted.add(revision.phone_number_id)
                continue
            if await self.inbox.revise(SURFACE, revision.target, revision.body, revision.at):
                revisions += 1
        for status in delivery.statuses:
            if status.phone_number_id not in self.numbers:
                unrouted.add(status.phone_number_id)
                continue
            if status.status not in STATUS_VALUES or not status.wamid:
                log.info("ignoring WhatsApp status %r for %s", status.status, status.wamid)
                continue
            await self.inbox.record_delivery_by_provider_id(
                SURFACE, status.wamid, DeliveryStatus(status.status), status.error_code,
                status.error_text)
            statuses += 1
        for phone_id in sorted(unrouted):
            # Answered 200 all the same: Meta would otherwise retry for 7 days and flag the
            # endpoint, and the number may belong to another app on the same WABA.
            log.error("WhatsApp delivery for phone_number_id %s, which no account uses: add "
                      "an account with provider whatsapp_cloud and this address (or set "
                      "WHATSAPP_CLOUD_PHONE_NUMBER_ID) to receive it", phone_id)
        await self._keep_unreadable(unreadable)
        return {"stored": stored, "duplicates": duplicates, "statuses": statuses,
                "reactions": reactions, "revisions": revisions, "unrouted": sorted(unrouted),
                "rejected": rejected,
                "unreadable_count": len(unreadable),
                "unreadable": [{"path": p.path, "reason": p.reason}
                               for p in unreadable[:MAX_LISTED]]}

    async def _keep_unreadable(self, parts: list[UnreadablePart]) -> None:
        """Stored raw before the 200: the signed sender will not send them again."""
        for part in parts:
            log.error("unreadable part of a WhatsApp delivery, kept raw: %s: %s",
                      part.path, part.reason)
        await self.inbox.record_unreadable([
            UnreadableInbound(SURFACE, p.path, p.reason, p.raw, p.digest) for p in parts])

    async def _inbound(self, number: CloudNumber, parsed: ParsedMessage,
                       earlier: dict[str, str]) -> InboundMessage:
        body, attachments = parsed.body, []
        if parsed.media is not None:
            ref = parsed.media
            name = ref.filename or default_filename(ref.kind, ref.ref, ref.content_type)
            attachments = [pending_attachment(ref, name, 0, parsed.meta)]
        if parsed.context_id:
            body = join_body(await self._quote(parsed.context_id, earlier), body)
        return InboundMessage(
            channel=Channel.WHATSAPP, account=number.account, provider=SURFACE,
            provider_message_id=parsed.wamid, sender=parsed.sender,
            sender_name=parsed.sender_name, body=body, received_at=parsed.received_at,
            attachments=attachments, meta=parsed.meta,
        )

    async def _quote(self, context_id: str, earlier: dict[str, str]) -> str | None:
        """A quote of the message replied to: stored already, or earlier in this delivery
        (not stored yet: the delivery is one transaction)."""
        if context_id in earlier:
            quoted = earlier[context_id]
        else:
            found = await self.inbox.message_by_provider_id(SURFACE, context_id)
            if found is None:
                return None
            quoted = found.body
        text = " ".join((quoted or "").split())
        text = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
        return f"> {text}" if text else None


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
