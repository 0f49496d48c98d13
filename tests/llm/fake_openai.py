"""A fake OpenAI-compatible server on 127.0.0.1: scripted answers to ``POST /v1/chat/completions``."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: Any = None  # dict → JSON; str → sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


def completion(
    content: str | None,
    *,
    refusal: str | None = None,
    finish_reason: str = "stop",
    model: str = "gpt-4o-mini",
    usage: tuple[int, int, int] = (1000, 200, 400),
) -> Reply:
    """A chat completion answer; ``usage`` is (prompt, completion, cached prompt) tokens."""
    prompt, completion_tokens, cached = usage
    return Reply(body={
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1780000000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal},
            "finish_reason": finish_reason,
            "logprobs": None,
        }],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    })


def structured(artifacts: list[dict[str, Any]], **kwargs: Any) -> Reply:
    """A structured-output answer listing ``artifacts``."""
    return completion(json.dumps({"artifacts": artifacts}), **kwargs)


def error(status: int, message: str = "error", **headers: str) -> Reply:
    """An OpenAI-style error answer."""
    return Reply(status=status, body={"error": {"message": message, "type": "fake", "code": None}},
                 headers=headers)


class FakeOpenAI:
    """The server. Push replies in order; ``default`` answers when the script is empty."""

    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.default: Callable[[dict[str, Any]], Reply] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    reply = error(404, f"no route {self.path}")
                elif fake.script:
                    reply = fake.script.popleft()
                elif fake.default is not None:
                    reply = fake.default(body)
                else:
                    reply = error(500, "nothing scripted")
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                raw = data.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(raw)))
                    for key, value in reply.headers.items():
                        self.send_header(key.replace("_", "-"), value)
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def push(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def start(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what the client sent --

    def messages(self, index: int = -1) -> list[dict[str, Any]]:
        return list(self.requests[index]["messages"])

    def user_payload(self, index: int = -1) -> dict[str, Any]:
        """The JSON document between the markers of the last user message."""
        content = self.messages(index)[-1]["content"]
        start = content.index(">\n", content.index("<")) + 2
        end = content.rindex("\n</")
        return json.loads(content[start:end])
