"""A fake OpenAI-compatible chat completions API on a real socket (loopback, port 0).

POST /v1/chat/completions answers a chat.completion object whose message content the test
sets with `answer(...)` (a dict is JSON-encoded, a string is sent as is, so malformed JSON
can be scripted). The bearer key is checked, every request is recorded, `fail_next(...)`
scripts 429/500 answers and `delay` holds each answer back (a slow or hung model).
"""

from __future__ import annotations

import itertools
import json
import time

from tests.fakes.graph_api import FakeHttpServer, Recorded


def openai_error(message: str, type_: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class FakeOpenAI(FakeHttpServer):
    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.content: str | None = "{}"
        self.refusal: str | None = None
        self.no_choices = False
        self.delay = 0.0  # seconds before answering; handlers run in their own threads
        self._ids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def answer(self, content: dict | str | None) -> None:
        """What the assistant message's content will be from now on."""
        self.content = json.dumps(content) if isinstance(content, dict) else content

    def completions(self) -> list[Recorded]:
        return self.of("POST", "/v1/chat/completions")

    def last_body(self) -> dict:
        return self.completions()[-1].json()

    def respond(self, rec: Recorded):
        if self.delay:
            time.sleep(self.delay)  # blocks this request's thread only
        if rec.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, openai_error("Incorrect API key provided", "invalid_request_error",
                                     "invalid_api_key"), {}
        scripted = self._scripted_for(rec)
        if scripted is not None:
            return scripted.status, scripted.body, scripted.headers
        if rec.method != "POST" or rec.path != "/v1/chat/completions":
            return 404, openai_error(f"Unknown path {rec.path}", "invalid_request_error"), {}
        model = rec.json().get("model", "")
        choices = [] if self.no_choices else [{
            "index": 0,
            "message": {"role": "assistant", "content": self.content, "refusal": self.refusal},
            "logprobs": None,
            "finish_reason": "stop",
        }]
        return 200, {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
        }, {}
