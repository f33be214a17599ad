"""Real HTTP peers for tests: an image host the server fetches from, and an upstream authority."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Peer:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.peer = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

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
    """Serves registered bytes at ``/name``; the integrator's image store."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        super().__init__(_ImageHandler)

    def put(self, name: str, data: bytes) -> str:
        self.files[f"/{name}"] = data
        return f"http://127.0.0.1:{self.port}/{name}"


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        peer = self.server.peer  # type: ignore[attr-defined]
        with peer.lock:
            peer.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class CallbackReceiver(_Peer):
    """The integrator's callback endpoint: answers 200 and keeps every request (path, headers, body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        super().__init__(_ReceiverHandler)

    def url(self, path: str = "/callback") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[tuple[str, dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise TimeoutError(f"{len(self.received)} callback(s) received, expected {count}")


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
