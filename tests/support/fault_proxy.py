"""A fault-injecting HTTP proxy in front of a stand-in store (moto): the first requests that
match a rule get an error status instead of reaching the store; everything else is relayed."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

S3_ERROR = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
    "<Message>{message}</Message></Error>"
)


@dataclass
class Fault:
    """Answer `status`/`code` to the first `times` requests for which `matches` is true."""

    matches: Callable[[str, str], bool]  # (method, path with query) -> bool
    status: int
    code: str
    times: int
    hits: int = 0
    # A careless upstream: the error message quotes the request line and its Authorization
    # header (what a redaction step must mask when an SDK puts it in an exception).
    echo: bool = False
    # Only requests carrying this header (e.g. a conditional write's If-None-Match).
    header: str | None = None


@dataclass
class FaultProxy:
    upstream: str  # http://127.0.0.1:PORT
    faults: list[Fault] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)  # "<status> <method> <path>" per fault

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._fault(self.command, self.path, self.headers)
                if fault is not None:
                    message = "injected by the test proxy"
                    if fault.echo:
                        auth = self.headers.get("Authorization", "")
                        message = f"{self.command} {self.path} Authorization: {auth}"
                    payload = S3_ERROR.format(code=fault.code, message=escape(message)).encode()
                    self.send_response(fault.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                target = urlsplit(proxy.upstream)
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status, reply.reason)
                head = self.command == "HEAD"  # no body: the upstream's length stands
                dropped = ("transfer-encoding", "connection") + (() if head else ("content-length",))
                for name, value in reply.getheaders():
                    if name.lower() not in dropped:
                        self.send_header(name, value)
                if not head:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _fault(self, method: str, path: str, headers: Message) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.header is not None and fault.header not in headers:
                    continue
                if fault.hits < fault.times and fault.matches(method, path):
                    fault.hits += 1
                    self.injected.append(f"{fault.status} {method} {path}")
                    return fault
        return None

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
