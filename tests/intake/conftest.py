"""Real local HTTP(S) servers for the intake tests: images, redirects, slow and oversized answers."""

from __future__ import annotations

import datetime
import io
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

CHUNK = 64 * 1024


def make_image(fmt: str, size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    """A small noisy image in ``fmt`` (Pillow format name)."""
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, fmt, **save)
    return out.getvalue()


JPEG = make_image("JPEG")
PNG = make_image("PNG")


@dataclass
class Hit:
    path: str
    host: str | None


@dataclass
class LocalServer:
    httpd: ThreadingHTTPServer
    scheme: str = "http"
    hits: list[Hit] = field(default_factory=list)
    sni_names: list[str | None] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


class Handler(BaseHTTPRequestHandler):
    """Routes by path; everything a test needs from an integrator's image host."""

    server_version = "test-image-host"

    def log_message(self, format: str, *args: object) -> None:  # silence
        pass

    @property
    def owner(self) -> LocalServer:
        return self.server.owner  # type: ignore[attr-defined]

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        self.owner.hits.append(Hit(path=path, host=self.headers.get("Host")))
        stop = self.owner.stop
        try:
            if path == "/img.jpg":
                self._send(200, JPEG, {"Content-Type": "image/jpeg"})
            elif path == "/img.png":
                self._send(200, PNG, {"Content-Type": "image/png"})
            elif path == "/redirect":
                status = int(query.get("status", ["302"])[0])
                self._send(status, headers={"Location": query["to"][0]})
            elif path.startswith("/chain/"):
                n = int(path.rsplit("/", 1)[1])
                if n == 0:
                    self._send(200, JPEG)
                else:
                    self._send(302, headers={"Location": f"/chain/{n - 1}"})
            elif path == "/no-location":
                self._send(302)
            elif path == "/slow-headers":
                stop.wait(3)
                self._send(200, JPEG)
            elif path == "/trickle":
                # Never idle long enough for a read timeout, but never finishes in time either.
                self.send_response(200)
                self.end_headers()
                for _ in range(100):
                    if stop.wait(0.05):
                        break
                    self.wfile.write(b"x")
                    self.wfile.flush()
            elif path.startswith("/bytes/"):
                self._send(200, b"\xab" * int(path.rsplit("/", 1)[1]))
            elif path.startswith("/stream/"):
                # No Content-Length: HTTP/1.0, body delimited by closing the connection.
                remaining = int(path.rsplit("/", 1)[1])
                self.send_response(200)
                self.end_headers()
                while remaining > 0 and not stop.is_set():
                    n = min(CHUNK, remaining)
                    self.wfile.write(b"\xcd" * n)
                    remaining -= n
            elif path == "/gzip":
                self._send(200, b"\x1f\x8b" + b"\x00" * 30, {"Content-Encoding": "gzip"})
            else:
                self._send(404, b"not found")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up first, which is what several tests want


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def start_server(ssl_context: ssl.SSLContext | None = None) -> LocalServer:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    server = LocalServer(httpd=httpd, scheme="https" if ssl_context else "http")
    httpd.owner = server  # type: ignore[attr-defined]
    if ssl_context is not None:
        httpd.socket = ssl_context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def stop_server(server: LocalServer) -> None:
    server.stop.set()
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    s = start_server()
    yield s
    stop_server(s)


@pytest.fixture
def other_server() -> Iterator[LocalServer]:
    s = start_server()
    yield s
    stop_server(s)


@dataclass
class Pki:
    ca_pem: bytes
    cert_file: Path
    key_file: Path


def make_pki(tmp_path: Path, dns_name: str) -> Pki:
    """A throwaway CA and a server certificate for ``dns_name`` signed by it."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shiren test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file = tmp_path / f"{dns_name}.crt"
    key_file = tmp_path / f"{dns_name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Pki(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM), cert_file=cert_file, key_file=key_file
    )


def start_tls_server(pki: Pki) -> LocalServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_file, pki.key_file)
    names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc]
    server = start_server(context)
    server.sni_names = names
    return server
