"""A scripted HTTP server on 127.0.0.1 that answers in a provider's wire format.

Each request takes the next scripted reply (the last one repeats); every
request is recorded (method, path, headers, body). Tests point the real
provider clients at it: no patching of our code, no traffic off the machine.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow provider, for timeouts)

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "application/json"
        return self.body, "application/octet-stream"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Loopback:
    def __init__(self, replies: list[Reply], on_request: Callable[[Seen], None] | None = None) -> None:
        self.replies = list(replies)
        self.requests: list[Seen] = []
        self.on_request = on_request
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                seen = Seen(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                with server._lock:
                    server.requests.append(seen)
                    reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
                if server.on_request is not None:
                    server.on_request(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                data, ctype = reply.payload()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.headers.get("content-type", ctype))
                    self.send_header("content-length", str(len(data)))
                    for k, v in reply.headers.items():
                        if k.lower() != "content-type":
                            self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> Loopback:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def loopback(replies: list[Reply], on_request: Callable[[Seen], None] | None = None) -> Iterator[Loopback]:
    server = Loopback(replies, on_request).start()
    try:
        yield server
    finally:
        server.stop()
