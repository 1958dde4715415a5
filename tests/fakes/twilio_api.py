"""A fake Twilio REST API (Messages, Media, Content) on a real socket (loopback, port 0).

POST /2010-04-01/Accounts/{sid}/Messages.json answers like Twilio (sid "SM..."), media URLs
redirect to a CDN path like Twilio's do (`fail_next(307, ...)` scripts other redirects),
and GET /v1/ContentAndApprovals pages with meta.next_page_url. HTTP Basic auth (account
SID, auth token) is checked on the API paths.
"""

from __future__ import annotations

import base64
from email.utils import formatdate
from urllib.parse import parse_qs

from tests.fakes.graph_api import FakeHttpServer, Recorded


def twilio_error(code: int, message: str, status: int = 400) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


class FakeTwilioApi(FakeHttpServer):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.media: dict[str, tuple[bytes, str]] = {}  # path under /cdn/ -> (bytes, type)
        self.contents: list[dict] = []
        self.page_size = 2
        self._sent = 0
        self.sent: list[dict] = []  # message resources, as the Messages list returns them

    def media_url(self, name: str, data: bytes, ctype: str) -> str:
        self.media[name] = (data, ctype)
        return (f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/MM1/Media/{name}")

    def form(self, rec: Recorded) -> dict[str, list[str]]:
        return parse_qs(rec.body.decode(), keep_blank_values=True)

    def _authorized(self, rec: Recorded) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return rec.headers.get("authorization") == f"Basic {expected}"

    def respond(self, rec: Recorded):
        if rec.path.startswith("/cdn/"):  # the CDN needs no credentials (signed by Twilio)
            scripted = self._scripted_for(rec)
            if scripted is not None:
                return scripted.status, scripted.body, scripted.headers
            name = rec.path.removeprefix("/cdn/")
            if name not in self.media:
                return 404, b"not found", {}
            data, ctype = self.media[name]
            return 200, data, {"Content-Type": ctype}
        if not self._authorized(rec):
            return 401, twilio_error(20003, "Authenticate", 401), {}
        scripted = self._scripted_for(rec)
        if scripted is not None:
            return scripted.status, scripted.body, scripted.headers
        if rec.method == "POST" and rec.path.endswith("/Messages.json"):
            self._sent += 1
            form = self.form(rec)
            sid = f"SM{self._sent:032d}"
            resource = {"sid": sid, "account_sid": self.account_sid, "status": "queued",
                        "to": form.get("To", [""])[0], "from": form.get("From", [""])[0],
                        "body": form.get("Body", [""])[0], "num_media": "0",
                        "date_created": formatdate(usegmt=True),
                        "error_code": None, "error_message": None,
                        "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}
            self.sent.append(resource)
            return 201, resource, {}
        if rec.method == "GET" and rec.path.endswith("/Messages.json"):
            to, from_ = (rec.query.get(k, [None])[0] for k in ("To", "From"))
            found = [m for m in reversed(self.sent)
                     if (to is None or m["to"] == to) and (from_ is None or m["from"] == from_)]
            size = int((rec.query.get("PageSize") or ["50"])[0])
            return 200, {"messages": found[:size], "page": 0, "page_size": size,
                         "next_page_uri": None, "uri": rec.path}, {}
        if rec.method == "GET" and "/Media/" in rec.path:
            name = rec.path.rsplit("/", 1)[-1]
            if name not in self.media:
                return 404, twilio_error(20404, "not found", 404), {}
            # Like Twilio's redirect to its CDN (a signed URL: credentials must not follow).
            # Same origin here, as the media policy in tests allows the fake's origin only.
            return 307, b"", {"Location": f"/cdn/{name}"}
        if rec.method == "GET" and rec.path == "/v1/ContentAndApprovals":
            page = int((rec.query.get("Page") or ["0"])[0])
            size = self.page_size
            items = self.contents[page * size:(page + 1) * size]
            more = (page + 1) * size < len(self.contents)
            nxt = (f"{self.url}/v1/ContentAndApprovals?PageSize={size}&Page={page + 1}"
                   if more else None)
            return 200, {"contents": items, "meta": {
                "page": page, "page_size": size, "first_page_url": f"{self.url}{rec.path}",
                "previous_page_url": None, "url": f"{self.url}{rec.path}",
                "next_page_url": nxt, "key": "contents"}}, {}
        return 404, twilio_error(20404, "The requested resource was not found", 404), {}
