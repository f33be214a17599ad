"""Real HTTP peers for tests: an image host the server fetches from, an upstream authority, and an
integrator's webhook endpoint that answers callbacks as a test scripts it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class _Peer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> None:
        self.host = host
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.peer = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _ImageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        data = self.server.peer.files.get(self.path)  # type: ignore[attr-defined]
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class ImageHost(_Peer):
    """Serves registered bytes at ``/name``; the integrator's image store. ``host``: the address it binds
    (and names in its URLs)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.files: dict[str, bytes] = {}
        super().__init__(_ImageHandler, host)

    def put(self, name: str, data: bytes) -> str:
        self.files[f"/{name}"] = data
        return f"http://{self.authority}/{name}"


class _AuthorityHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, answer = self.server.peer.answer(body["name"], body["idNumber"])  # type: ignore[attr-defined]
        raw = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


class UpstreamAuthority(_Peer):
    """An upstream identity service speaking shiren's documented ``http`` authority contract."""

    def __init__(self) -> None:
        self.people: dict[str, tuple[str, bytes | None]] = {}  # id number -> (name, photo)
        self.behaviour: Callable[[str], tuple[int, Any] | None] = lambda name: None
        super().__init__(_AuthorityHandler)

    def answer(self, name: str, id_number: str) -> tuple[int, Any]:
        special = self.behaviour(name)
        if special is not None:
            status, payload = special
            if payload == "sleep":
                time.sleep(10)
                return 200, {"match": True}
            return status, payload
        known = self.people.get(id_number)
        if known is None or known[0] != name:
            return 200, {"match": False, "photo": None}
        photo = base64.b64encode(known[1]).decode() if known[1] else None
        return 200, {"match": True, "photo": photo}


# --- an integrator's webhook endpoint ---------------------------------------------------------------------

HOLD = "hold"  # keep the request open until released, then answer 500


@dataclass
class Plan:
    """How to answer the callbacks of one BizId: ``steps`` in order, then ``default`` forever."""

    steps: list[Any] = field(default_factory=list)
    default: Any = 200


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what the receiver answered; None while held
    method: str = "POST"

    @property
    def query(self) -> dict[str, str]:
        """The request's query parameters (an Alibaba-style GET callback carries everything there)."""
        return dict(parse_qsl(urlsplit(self.headers.get("path", "")).query))

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.do_POST(method="GET")

    def do_POST(self, method: str = "POST") -> None:  # noqa: N802 - http.server API
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        hit = Received(time.time(), {k.lower(): v for k, v in self.headers.items()}, body, method=method)
        hit.headers["path"] = self.path
        action = receiver.record(hit)
        status = 500
        headers = {"Content-Length": "2"}
        if action == HOLD:
            receiver.release.wait(30)
        elif isinstance(action, tuple) and action[0] == "sleep":  # ("sleep", seconds, status)
            time.sleep(action[1])
            status = action[2]
        elif isinstance(action, tuple):  # ("redirect", location)
            status, headers["Location"] = 307, action[1]
        else:
            status = int(action)
        with receiver.cond:
            hit.status = status
            receiver.cond.notify_all()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the sender gave up (timeout) or was killed

    def log_message(self, *args: Any) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops connections of a burst

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class Receiver:
    """An integrator's webhook endpoint, scripted per BizId. ``host``: the address it binds (and names in its
    URLs)."""

    def __init__(self, query: str = "", host: str = "127.0.0.1") -> None:
        self.host = host
        self.query = query  # appended to every URL handed out (e.g. a token the receiver expects)
        self.hits: list[Received] = []
        self.plans: dict[str, Plan] = {}
        self.cond = threading.Condition()
        self.release = threading.Event()
        self.httpd = _QuietServer((host, 0), _Handler)
        self.httpd.receiver = self  # type: ignore[attr-defined]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.httpd.server_address[1]}"

    def url(self, path: str = "/hooks/shiren") -> str:
        return f"http://{self.authority}{path}" + (f"?{self.query}" if self.query else "")

    def record(self, hit: Received) -> Any:
        with self.cond:
            self.hits.append(hit)
            self.cond.notify_all()
            if hit.method == "GET":
                return 200
            try:
                plan = self.plans.get(hit.doc.get("BizId", ""), Plan())
            except ValueError:
                return 400
            return plan.steps.pop(0) if plan.steps else plan.default

    def wait_for_query(self, name: str, value: str, timeout: float = 20) -> Received:
        """The first GET whose query has ``name=value`` (an Alibaba-style callback)."""

        def found() -> list[Received]:
            return [h for h in self.hits if h.method == "GET" and h.query.get(name) == value]

        self.wait_for(lambda: bool(found()), timeout)
        with self.cond:
            return found()[0]

    def for_biz(self, biz_id: str) -> list[Received]:
        with self.cond:
            return [h for h in self.hits if h.method == "POST" and h.doc.get("BizId") == biz_id]

    def wait_for(self, what: Callable[[], bool], timeout: float = 20) -> None:
        with self.cond:
            if not self.cond.wait_for(what, timeout):
                raise AssertionError(f"receiver: condition not met in {timeout} s; got {len(self.hits)} hits")

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def signature_valid(secret: bytes, hit: Received, tolerance_s: int = 300) -> bool:
    """A Standard Webhooks receiver's check, written from the specification (not shiren's code)."""
    msg_id, stamp = hit.headers["webhook-id"], hit.headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > tolerance_s:
        return False
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + hit.body
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest())
    for candidate in hit.headers["webhook-signature"].split(" "):
        version, _, sig = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected):
            return True
    return False
