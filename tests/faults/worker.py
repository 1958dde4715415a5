"""A whole Threadline process (`threadline serve`) that kills itself at one chosen step.

    python tests/faults/worker.py PORT [POINT HIT]

Settings come from the environment as for `threadline serve`. With POINT it SIGKILLs its
own process (no cleanup, no flush: what kill -9 or the OOM killer does) the HIT-th time
(1-based) execution reaches POINT, after appending "killed POINT" to $FAULT_LOG:

    ingest.before_commit   a customer message's transaction (webhook or IMAP), before its commit
    ingest.after_commit    after the inbound message is committed, before the 2xx
    staff.before_commit    a staff message from a Slack thread, just before its commit
    staff.after_commit     the staff message is committed, before Slack's 2xx
    <target>.before_call   a provider request is about to leave (nothing sent)
    <target>.after_call    the provider accepted it; its answer is not used (lost)
    dispatch.before_complete  a handler finished; its outbox row is not yet settled
    slack_link.carried     the link of the second message a coalesced Slack post carries
                           is about to be written (the first one's is written)

Targets: slack_post (chat.postMessage), graph_send (Meta /messages), twilio_send
(Twilio Messages.json), smtp_send (the SMTP transaction of a reply). The hooks wrap
library entry points from outside; the shipped code has no test switches.
"""

from __future__ import annotations

import contextvars
import os
import signal
import smtplib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402
from slack_sdk.web.async_base_client import AsyncBaseClient  # noqa: E402

from core.usecases.inbound import InboundUseCases  # noqa: E402
from core.usecases.staff_messages import StaffMessageUseCases  # noqa: E402
from storage.outbox_store import OutboxStore  # noqa: E402
from storage.repositories.links import SqlLinkRepository  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402
from tests.process_output import append  # noqa: E402

# "ingest" while a customer message is stored, "staff" while a staff message is
_phase: contextvars.ContextVar[str | None] = contextvars.ContextVar("phase", default=None)


class Fault:
    def __init__(self, point: str | None, hit: int) -> None:
        self.point, self.hit, self.seen = point, hit, 0

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self.seen += 1
        if self.seen == self.hit:
            append(os.environ.get("FAULT_LOG", os.devnull), f"killed {point}\n")
            os.kill(os.getpid(), signal.SIGKILL)


def target_of_request(request: httpx.Request) -> str | None:
    if request.method != "POST":
        return None
    path = request.url.path
    if path.endswith("/Messages.json"):
        return "twilio_send"
    if path.endswith("/messages"):
        return "graph_send"
    return None


def install(fault: Fault) -> None:
    commit = SqlUnitOfWork.commit
    send, api_call, complete = httpx.AsyncClient.send, AsyncBaseClient.api_call, \
        OutboxStore.complete

    def storing(phase: str, original):
        async def hooked(self, *args, **kw):
            token = _phase.set(phase)
            try:
                result = await original(self, *args, **kw)
            finally:
                _phase.reset(token)
            fault.reached(f"{phase}.after_commit")
            return result
        return hooked

    async def commit_hooked(self):
        if _phase.get():
            fault.reached(f"{_phase.get()}.before_commit")
        return await commit(self)

    async def send_hooked(self, request, **kw):
        target = target_of_request(request)
        if target:
            fault.reached(f"{target}.before_call")
        response = await send(self, request, **kw)
        if target and response.status_code < 300:
            await response.aread()
            fault.reached(f"{target}.after_call")
        return response

    async def api_call_hooked(self, api_method, **kw):
        slack = "slack_post" if api_method == "chat.postMessage" else None
        if slack:
            fault.reached(f"{slack}.before_call")
        response = await api_call(self, api_method, **kw)
        if slack:
            fault.reached(f"{slack}.after_call")
        return response

    async def complete_hooked(self, row_id, worker_id, now):
        fault.reached("dispatch.before_complete")
        return await complete(self, row_id, worker_id, now)

    claim = SqlLinkRepository.claim

    async def claim_hooked(self, link):
        if link.surface == "slack:msg" and link.external_id.endswith("#1"):
            fault.reached("slack_link.carried")
        return await claim(self, link)

    SqlLinkRepository.claim = claim_hooked
    send_message = smtplib.SMTP.send_message

    def smtp_hooked(self, *args, **kw):  # runs in a worker thread: the kill still works
        fault.reached("smtp_send.before_call")
        refused = send_message(self, *args, **kw)
        fault.reached("smtp_send.after_call")
        return refused

    smtplib.SMTP.send_message = smtp_hooked
    for name in ("receive", "receive_many"):  # one message, or a whole delivery
        if hasattr(InboundUseCases, name):
            setattr(InboundUseCases, name, storing("ingest", getattr(InboundUseCases, name)))
    StaffMessageUseCases.write_in_thread = storing(
        "staff", StaffMessageUseCases.write_in_thread)
    SqlUnitOfWork.commit = commit_hooked
    httpx.AsyncClient.send = send_hooked
    AsyncBaseClient.api_call = api_call_hooked
    OutboxStore.complete = complete_hooked


def main() -> None:
    port, *rest = sys.argv[1:]
    fault = Fault(rest[0] if rest else None, int(rest[1]) if len(rest) > 1 else 1)
    install(fault)
    from threadline import cli

    sys.argv = ["threadline", "serve", "--port", port, "--host", "127.0.0.1",
                "--no-migrate"]
    cli.main()


if __name__ == "__main__":
    main()
