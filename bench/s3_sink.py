"""A discarding S3 endpoint for the large-archive benchmark: it keeps small objects, counts the rest.

moto joins a multipart upload's parts in memory on completion (a 10 GB archive would need 20 GB
of RAM in the stand-in), so the large-archive scenario sends its archives here instead: the
subset of the S3 protocol both barman-cloud-backup implementations use (HeadBucket,
ListObjectsV2, PutObject, the multipart calls, ListMultipartUploads), with object bodies above
1 MiB read and dropped. What is measured is the tool, not the store.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

KEEP = 1 << 20
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


class SinkState:
    def __init__(self) -> None:
        self.objects: dict[str, bytes | int] = {}  # key -> body (small) or size (dropped)
        self.uploads: dict[str, tuple[str, dict[int, int]]] = {}  # id -> key, part sizes
        self.received = 0
        self.lock = threading.Lock()

    def size(self, key: str) -> int:
        value = self.objects[key]
        return value if isinstance(value, int) else len(value)


def _handler(state: SinkState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None: ...

        def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _xml(self, body: str) -> None:
            self._reply(200, f'<?xml version="1.0" encoding="UTF-8"?>{body}'.encode(),
                        {"Content-Type": "application/xml"})

        def _body(self, keep: bool) -> bytes | int:
            left = int(self.headers.get("Content-Length") or 0)
            size, chunks = left, []
            while left:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
                if keep and size <= KEEP:
                    chunks.append(chunk)
            with state.lock:
                state.received += size
            return b"".join(chunks) if keep and size <= KEEP else size

        def _target(self) -> tuple[str, str, dict[str, list[str]]]:
            url = urlsplit(self.path)
            bucket, _, key = url.path.lstrip("/").partition("/")
            return bucket, unquote(key), parse_qs(url.query, keep_blank_values=True)

        def do_HEAD(self) -> None:
            _, key, _ = self._target()
            if not key:
                return self._reply(200)
            if key in state.objects:
                return self._reply(200, headers={"Content-Length": str(state.size(key))})
            return self._reply(404)

        def do_GET(self) -> None:
            _, key, query = self._target()
            if key:
                value = state.objects.get(key)
                if isinstance(value, bytes):
                    return self._reply(200, value)
                return self._reply(404, b"<Error><Code>NoSuchKey</Code></Error>")
            prefix = query.get("prefix", [""])[0]
            if "uploads" in query:
                ups = "".join(f"<Upload><Key>{escape(k)}</Key><UploadId>{u}</UploadId>"
                              "<Initiated>2026-11-30T00:00:00.000Z</Initiated></Upload>"
                              for u, (k, _) in list(state.uploads.items()) if k.startswith(prefix))
                return self._xml(f"<ListMultipartUploadsResult {NS}><IsTruncated>false</IsTruncated>"
                                 f"{ups}</ListMultipartUploadsResult>")
            keys = sorted(k for k in list(state.objects) if k.startswith(prefix))
            contents = "".join(f"<Contents><Key>{escape(k)}</Key><Size>{state.size(k)}</Size>"
                               "<LastModified>2026-11-30T00:00:00.000Z</LastModified></Contents>"
                               for k in keys)
            return self._xml(f"<ListBucketResult {NS}><Prefix>{escape(prefix)}</Prefix>"
                             f"<KeyCount>{len(keys)}</KeyCount><IsTruncated>false</IsTruncated>"
                             f"{contents}</ListBucketResult>")

        def do_PUT(self) -> None:
            _, key, query = self._target()
            if "uploadId" in query:
                size = self._body(keep=False)
                upload = state.uploads.get(query["uploadId"][0])
                if upload is None:
                    return self._reply(404, b"<Error><Code>NoSuchUpload</Code></Error>")
                upload[1][int(query["partNumber"][0])] = int(size)
                return self._reply(200, headers={"ETag": f'"{uuid.uuid4().hex}"'})
            if self.headers.get("If-None-Match") == "*" and key in state.objects:
                self._body(keep=False)
                return self._reply(412, b"<Error><Code>PreconditionFailed</Code></Error>")
            state.objects[key] = self._body(keep=True)
            return self._reply(200, headers={"ETag": f'"{uuid.uuid4().hex}"'})

        def do_POST(self) -> None:
            _, key, query = self._target()
            self._body(keep=False)
            if "uploads" in query:
                upload_id = uuid.uuid4().hex
                state.uploads[upload_id] = (key, {})
                return self._xml(f"<InitiateMultipartUploadResult {NS}><Key>{escape(key)}</Key>"
                                 f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>")
            upload = state.uploads.pop(query.get("uploadId", [""])[0], None)
            if upload is None:
                return self._reply(404, b"<Error><Code>NoSuchUpload</Code></Error>")
            state.objects[key] = sum(upload[1].values())
            return self._xml(f"<CompleteMultipartUploadResult {NS}><Key>{escape(key)}</Key>"
                             f'<ETag>"{uuid.uuid4().hex}-{len(upload[1])}"</ETag>'
                             "</CompleteMultipartUploadResult>")

        def do_DELETE(self) -> None:
            _, key, query = self._target()
            if "uploadId" in query:
                state.uploads.pop(query["uploadId"][0], None)
            else:
                state.objects.pop(key, None)
            return self._reply(204)

    return Handler


@contextmanager
def s3_sink() -> Iterator[str]:
    """The endpoint URL of a discarding S3 endpoint in its own process, on a free port."""
    import subprocess
    import sys

    from tests.support.ports import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.s3_sink", str(port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    """`python -m bench.s3_sink PORT`: serve until killed (the benchmark runs it in its own
    process, so its Python threads never compete with the measuring process for the GIL)."""
    import sys

    state = SinkState()
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _handler(state))
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
