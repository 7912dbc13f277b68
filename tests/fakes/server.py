"""A local HTTP server base for faithful fakes of gallery APIs.

What every fake gets from here:
- HTTP/1.1 with keep-alive, `Content-Length` or chunked request bodies;
- multipart bodies streamed to disk (SHA-1 computed on the way), so multi-GB uploads never
  sit in memory on either side;
- every request validated against the API description before a handler sees it (invalid
  ones get the server's 400 and are listed in `rejected`), every JSON response validated
  after (a mismatch is a bug in the fake, listed in `violations`);
- fault injection: 5xx, 429, connection resets before or *after* the server acted, stalls
  past the client's timeout, and slow answers, chosen by a seeded random generator.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, unquote, urlsplit

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from tests.fakes.openapi import Operation, Spec, ValidationFailed

READ_CHUNK = 1 << 16


@dataclass
class UploadedFile:
    field: str
    filename: str
    content_type: str
    path: Path
    size: int
    sha1: str


FormValue = str | UploadedFile


@dataclass
class Request:
    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, FormValue | list[FormValue]] | None = None
    form_order: list[str] = field(default_factory=list)
    op: Operation | None = None
    params: dict[str, str] = field(default_factory=dict)
    auth: Any = None
    """What the server's guard resolved the credentials to, once, before the handler ran
    (a key revoked while the request runs does not change who sent it)."""
    received: float = field(default_factory=time.monotonic)
    """When its headers arrived (before the body was read)."""

    def files(self, name: str) -> list[UploadedFile]:
        value = (self.form or {}).get(name)
        values = value if isinstance(value, list) else [value] if value is not None else []
        return [v for v in values if isinstance(v, UploadedFile)]

    def text(self, name: str) -> str | None:
        value = (self.form or {}).get(name)
        if isinstance(value, list):
            value = value[-1]
        return value if isinstance(value, str) else None


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


Handler = Callable[[Request], Response]


@dataclass
class Faults:
    """Which requests fail, and how. `rate` is the share of requests hit by some fault."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("500", "503", "429", "reset", "reset_after", "timeout")
    stall: float = 3.0
    delay: float = 0.0
    only: Callable[[Request], bool] | None = None
    seed: int = 0
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self, request: Request) -> str | None:
        if self.rate <= 0 or (self.only is not None and not self.only(request)):
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(self.kinds)
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind


class FakeServer:
    """Serve one API description with handlers keyed by (METHOD, spec path template)."""

    def __init__(self, spec: Spec, prefix: str = "") -> None:
        self.spec = spec
        self.prefix = prefix
        self.handlers: dict[tuple[str, str], Handler] = {}
        self.faults = Faults()
        self.requests: list[tuple[str, str, int]] = []
        self.rejected: list[str] = []
        self.violations: list[str] = []
        self.lock = threading.RLock()
        self.storage = Path(tempfile.mkdtemp(prefix="fake-gallery-"))
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- hooks for subclasses --------------------------------------------------------------

    def error_body(self, status: int, message: str | list[str]) -> Any:
        return {"error": message if isinstance(message, str) else "; ".join(message)}

    def authenticate(self, request: Request) -> Response | None:
        """Return a response to refuse the request, or None to let it through."""
        return None

    # -- lifecycle -------------------------------------------------------------------------

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers[(method, template)] = handler
            return handler

        return register

    def start(self) -> str:
        server = self

        class _Handler(_RequestHandler):
            fake = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        shutil.rmtree(self.storage, ignore_errors=True)

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, method: str | None = None, prefix: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.requests
                       if (method is None or m == method) and p.startswith(prefix))

    # -- dispatch --------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        found = self.spec.find(request.method, request.route)
        if found is None:
            status = 405 if self.spec.path_exists(request.route) else 404
            return Response(status, self.error_body(status, f"Cannot {request.method} "
                                                            f"{request.path}"))
        request.op, request.params = found
        refused = self.authenticate(request) if request.op.security else None
        if refused is not None:
            return refused
        handler = self.handlers.get((request.method, request.op.template))
        if handler is None:
            return Response(501, self.error_body(501, "not implemented by the fake"))
        return handler(request)

    def validate(self, request: Request, content_type: str | None) -> Response | None:
        found = self.spec.find(request.method, request.route)
        if found is None:
            return None
        op, params = found
        try:
            self.spec.validate_request(op, params, request.query, request.headers,
                                       request.json, request.form, content_type)
        except ValidationFailed as exc:
            with self.lock:
                self.rejected.append(f"{request.method} {request.path}: {exc}")
            return Response(400, self.error_body(400, exc.errors))
        return None

    def check_response(self, request: Request, response: Response) -> None:
        if request.op is None or response.raw is not None:
            return
        problems = self.spec.validate_response(request.op, response.status, response.body)
        if problems:
            with self.lock:
                self.violations.extend(problems)


class _RequestHandler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this each answer waits ~40 ms for
    # the client's delayed ACK, which would make every fake look slow.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _serve(self) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        path = unquote(url.path)
        route = path.removeprefix(fake.prefix) if path.startswith(fake.prefix) else path
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, path, route, parse_qs(url.query), headers)
        fault = fake.faults.pick(request)
        if fault == "reset":
            self._drain()
            return self._reset()
        if fault == "timeout":
            time.sleep(fake.faults.stall)
            return self._reset()
        try:
            content_type = self._read_body(request)
        except (ValueError, json.JSONDecodeError) as exc:
            return self._send(request, Response(400, fake.error_body(400, str(exc))))
        if fake.faults.delay:
            time.sleep(fake.faults.delay)
        if fault in ("500", "503", "429"):
            status = int(fault)
            headers_out = {"Retry-After": "0"} if status == 429 else {}
            return self._send(request, Response(status, fake.error_body(status, "injected"),
                                                headers_out), validate=False)
        response = fake.validate(request, content_type) or fake.dispatch(request)
        if fault == "reset_after":
            with fake.lock:
                fake.requests.append((request.method, request.path, -1))
            return self._reset()
        self._send(request, response)

    def _read_body(self, request: Request) -> str | None:
        content_type = self.headers.get("Content-Type")
        stream = self._body_chunks()
        if content_type is None:
            for _ in stream:
                pass
            return None
        mime, options = parse_options_header(content_type)
        if mime == b"multipart/form-data":
            request.form, request.form_order = _parse_multipart(
                stream, options[b"boundary"], self.fake.storage)
        else:
            data = b"".join(stream)
            if data and mime == b"application/json":
                request.json = json.loads(data)
            elif mime == b"application/x-www-form-urlencoded":  # OAuth token requests
                fields = parse_qs(data.decode("utf-8"), keep_blank_values=True)
                request.form = {k: v[-1] for k, v in fields.items()}
        return content_type

    def _body_chunks(self) -> Any:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                yield from self._exactly(size)
                self.rfile.readline()
        else:
            yield from self._exactly(int(self.headers.get("Content-Length") or 0))

    def _exactly(self, remaining: int) -> Iterator[bytes]:
        while remaining:
            chunk = self.rfile.read(min(remaining, READ_CHUNK))
            if not chunk:
                raise ValueError("connection closed mid-body")
            remaining -= len(chunk)
            yield chunk

    def _drain(self) -> None:
        try:
            for _ in self._body_chunks():
                pass
        except (ValueError, OSError):
            pass

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, as a crashing proxy or server would."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def _send(self, request: Request, response: Response, validate: bool = True) -> None:
        fake = self.fake
        if validate:
            fake.check_response(request, response)
        with fake.lock:
            fake.requests.append((request.method, request.path, response.status))
        if response.raw is not None:
            payload = response.raw
            ctype = None if "Content-Type" in response.headers else "application/octet-stream"
        elif response.body is None:
            payload, ctype = b"", None
        else:
            payload, ctype = json.dumps(response.body).encode(), "application/json"
        try:
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


def _parse_multipart(chunks: Any, boundary: bytes, storage: Path
                     ) -> tuple[dict[str, FormValue | list[FormValue]], list[str]]:
    form: dict[str, FormValue | list[FormValue]] = {}
    order: list[str] = []
    state: dict[str, Any] = {}

    def on_part_begin() -> None:
        state.update(headers={}, field=b"", value=b"", data=[], file=None, digest=None, size=0)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].decode().lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(state["headers"].get("content-disposition", b""))
        state["name"] = options.get(b"name", b"").decode()
        filename = options.get(b"filename")
        state["filename"] = None if filename is None else filename.decode("utf-8", "replace")
        if state["filename"] is not None:
            handle: IO[bytes] = tempfile.NamedTemporaryFile(dir=storage, delete=False)  # noqa: SIM115
            state["file"], state["digest"] = handle, hashlib.sha1()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if state["file"] is not None:
            state["file"].write(piece)
            state["digest"].update(piece)
            state["size"] += len(piece)
        else:
            state["data"].append(piece)

    def on_part_end() -> None:
        name = state["name"]
        value: FormValue
        if state["file"] is not None:
            state["file"].close()
            ctype = state["headers"].get("content-type", b"application/octet-stream").decode()
            value = UploadedFile(name, state["filename"], ctype, Path(state["file"].name),
                                 state["size"], state["digest"].hexdigest())
        else:
            value = b"".join(state["data"]).decode("utf-8")
        order.append(name)
        if name in form:
            existing = form[name]
            form[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            form[name] = value

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    })
    for chunk in chunks:
        parser.write(chunk)
    parser.finalize()
    return form, order
