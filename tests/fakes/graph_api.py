"""A fake Meta Graph API for WhatsApp on a real socket (loopback, port 0).

It speaks the documented shapes: POST /{phone-number-id}/messages and /media, GET
/{media-id} (metadata with a download url) and that url, GET /{waba-id}/message_templates
with cursor paging. Every request is recorded (method, path, query, headers, raw body);
the bearer token is checked; `fail_next(...)` scripts 4xx/429/5xx answers.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what the fake answered (None while it is answering)

    def json(self):
        return json.loads(self.body)

    def multipart(self) -> dict[str, tuple[str | None, bytes]]:
        """Form fields of a multipart body: name -> (filename, bytes)."""
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        msg = BytesParser(policy=HTTP).parsebytes(head + self.body)
        return {part.get_param("name", header="content-disposition"):
                (part.get_filename(), part.get_payload(decode=True))
                for part in msg.iter_parts()}


@dataclass
class Scripted:
    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)


class FakeHttpServer:
    """The plumbing both fakes share: a threaded HTTP server, recording and scripting."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.scripted: deque[tuple[str | None, Scripted]] = deque()
        self.down = False  # an outage: every request is recorded and answered 503
        self.dropped: list[str] = []  # path parts whose next request gets no answer
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                rec = Recorded(self.command, parts.path, parse_qs(parts.query),
                               {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:
                    fake.requests.append(rec)
                if fake.down:
                    status, payload, headers = 503, {"error": "service unavailable"}, {}
                else:
                    status, payload, headers = fake.respond(rec)
                rec.status = status
                if fake._drop_answer(rec):  # carried out, but the answer never leaves
                    self.close_connection = True
                    return
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                if not isinstance(payload, bytes):
                    self.send_header("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (an oversized download): expected

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, body: object, headers: dict[str, str] | None = None,
                  path_contains: str | None = None) -> None:
        """Answer the next matching request with this instead of the normal answer."""
        self.scripted.append((path_contains, Scripted(status, body, headers or {})))

    def drop_answer_next(self, path_contains: str, times: int = 1) -> None:
        """Carry out the next matching request(s) but close the connection instead of
        answering: the client cannot tell whether it happened (a timeout, a cut line)."""
        self.dropped.extend([path_contains] * times)

    def _drop_answer(self, rec: Recorded) -> bool:
        with self._lock:
            for part in self.dropped:
                if part in rec.path:
                    self.dropped.remove(part)
                    return True
        return False

    def _scripted_for(self, rec: Recorded) -> Scripted | None:
        with self._lock:
            for item in list(self.scripted):
                if item[0] is None or item[0] in rec.path:
                    self.scripted.remove(item)
                    return item[1]
        return None

    def respond(self, rec: Recorded) -> tuple[int, object, dict[str, str]]:
        raise NotImplementedError

    def of(self, method: str, contains: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and contains in r.path]


def graph_error(code: int, message: str, details: str = "", status: int = 400) -> Scripted:
    body = {"error": {"message": message, "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details},
                      "fbtrace_id": "AbCdEf"}}
    return Scripted(status, body)


class FakeGraphApi(FakeHttpServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.media: dict[str, tuple[bytes, str]] = {}  # media id -> (bytes, mime type)
        self.declared_sizes: dict[str, int] = {}  # media id -> file_size to announce
        self.announced_urls: dict[str, str] = {}  # media id -> download url to announce
        self.templates: list[dict] = []
        self.page_size = 2
        self._sent = 0
        self._uploads = 0

    def add_media(self, media_id: str, data: bytes, mime: str, declared: int | None = None,
                  url: str | None = None):
        """`url`: announce this download url instead of our own (another host, http...)."""
        self.media[media_id] = (data, mime)
        if declared is not None:
            self.declared_sizes[media_id] = declared
        if url is not None:
            self.announced_urls[media_id] = url

    def redirect_next(self, location: str, status: int = 302,
                      path_contains: str | None = None) -> None:
        """Answer the next matching request with a redirect (an HTML body, as servers do)."""
        self.fail_next(status, b"<html><body>Moved</body></html>",
                       {"Location": location, "Content-Type": "text/html"}, path_contains)

    def fail(self, scripted: Scripted, path_contains: str | None = None) -> None:
        self.fail_next(scripted.status, scripted.body, scripted.headers, path_contains)

    def respond(self, rec: Recorded):
        if rec.headers.get("authorization") != f"Bearer {self.token}":
            return 401, graph_error(190, "Error validating access token: Session has expired",
                                    status=401).body, {}
        scripted = self._scripted_for(rec)
        if scripted is not None:
            return scripted.status, scripted.body, scripted.headers
        parts = rec.path.strip("/").split("/")
        if rec.method == "POST" and parts[-1] == "messages":
            self._sent += 1
            to = rec.json().get("to", "")
            return 200, {"messaging_product": "whatsapp",
                         "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                         "messages": [{"id": f"wamid.OUT{self._sent:04d}"}]}, {}
        if rec.method == "POST" and parts[-1] == "media":
            self._uploads += 1
            return 200, {"id": f"up{self._uploads}"}, {}
        if rec.method == "GET" and parts[-1] == "message_templates":
            return 200, self._template_page(rec), {}
        if rec.method == "GET" and parts[0] == "download" and parts[-1] in self.media:
            data, mime = self.media[parts[-1]]
            return 200, data, {"Content-Type": mime}
        if rec.method == "GET" and len(parts) == 1 and parts[0] in self.media:
            data, mime = self.media[parts[0]]
            size = self.declared_sizes.get(parts[0], len(data))
            url = self.announced_urls.get(parts[0], f"{self.url}/download/{parts[0]}")
            return 200, {"messaging_product": "whatsapp", "url": url,
                         "mime_type": mime, "sha256": "00", "file_size": str(size),
                         "id": parts[0]}, {}
        return 404, graph_error(100, "Unsupported get request", status=404).body, {}

    def _template_page(self, rec: Recorded) -> dict:
        start = int((rec.query.get("after") or ["0"])[0].removeprefix("c"))
        page = self.templates[start:start + self.page_size]
        body: dict = {"data": page, "paging": {"cursors": {"before": f"c{start}",
                                                           "after": f"c{start + len(page)}"}}}
        if start + self.page_size < len(self.templates):
            body["paging"]["next"] = (f"https://graph.facebook.com/v21.0{rec.path}"
                                      f"?after=c{start + len(page)}")
        return body
