"""An HTTP proxy in front of a stand-in that counts the part uploads it has in flight at once."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class PartCounter:
    """Each part request waits up to `hold` seconds for another to be in flight with it, so
    parts sent concurrently are seen together; parts sent one at a time never are."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.now = self.most = self.seen = 0
        self._cond = threading.Condition()

    def enter(self) -> None:
        with self._cond:
            self.now += 1
            self.seen += 1
            self.most = max(self.most, self.now)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.now > 1, timeout=self.hold)

    def leave(self) -> None:
        with self._cond:
            self.now -= 1


@contextmanager
def counting_proxy(
    upstream: str, is_part: Callable[[str, str, bytes], bool], hold: float = 2.0
) -> Iterator[tuple[str, PartCounter]]:
    """(proxy URL, counter) for `upstream` (http://host:port) on 127.0.0.1 and a free port."""
    target = urlsplit(upstream)
    counter = PartCounter(hold)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None: ...

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            part = is_part(self.command, self.path, body)
            if part:
                counter.enter()
            try:
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
            finally:
                if part:
                    counter.leave()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", counter
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
