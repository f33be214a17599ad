"""Download integrator-supplied image URLs without letting them reach private networks (SPEC 4.6).

An image URL is attacker-controlled input that makes *our* server open a connection (SSRF). So:

* only http/https, no credentials in the URL, ports 1-65535;
* the host is resolved once, and every address it resolves to must be globally routable
  (``ipaddress.is_global``), unless ``host:port`` is listed in ``SHIREN_FETCH_ALLOW_HOSTS``;
* the connection goes to the address that was checked: the request URL is rewritten to that IP while the
  original name travels in the ``Host`` header and as TLS SNI / certificate name (httpx's documented
  ``sni_hostname`` extension), so a second, different DNS answer (DNS rebinding) cannot redirect us;
* redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each target checked like the first;
* one overall deadline (``fetch_timeout_s``) on top of httpx's connect/read/write timeouts;
* the body is streamed and cut off at ``max_image_bytes`` per image and at the per-request
  :class:`RequestBudget`.

Proxies from the environment are ignored on purpose (``trust_env=False``): a proxy would do its own DNS
lookup and defeat the address check. Only scheme and host are ever logged, never the path or query.

:func:`send_checked_request` applies the same rules to one request of any method (the callback worker's
POST), without following redirects.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import re
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from shiren.intake.errors import DestinationRefused, FetchFailed, human_size
from shiren.settings import Settings

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO; the URLs we are given may carry tokens in their query.
if logging.getLogger("httpx").level == logging.NOTSET:
    logging.getLogger("httpx").setLevel(logging.WARNING)

MAX_REDIRECTS = 3
MAX_URL_LENGTH = 4096
# A host may resolve to many addresses; all are checked, only the first few are tried.
MAX_CONNECT_ATTEMPTS = 3

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Host names after IDNA encoding: letters, digits, hyphens, dots (underscores occur in the wild).
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HEADERS = {
    "User-Agent": "shiren-image-fetch/1",
    "Accept": "image/jpeg, image/png, image/webp;q=0.9, */*;q=0.1",
    # Images are compressed already; asking for identity keeps the byte limits exact and rules out
    # decompression bombs at the HTTP layer.
    "Accept-Encoding": "identity",
}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RequestBudget:
    """Bytes that all images of one API request may download together (SPEC 4.6: 8 MB per request).

    Create one per incoming request and pass it to every :func:`fetch_image` of that request; uploads that
    arrive inline can be charged with :meth:`consume` too. Safe to share between concurrent fetches.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestBudget:
        return cls(settings.max_request_bytes)

    @property
    def used(self) -> int:
        return self._used

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self._used)

    def exceeded_error(self, field: str) -> FetchFailed:
        return FetchFailed(field, f"images of this request exceed {human_size(self.limit)} in total")

    def consume(self, n: int, field: str) -> None:
        """Charge ``n`` bytes, or raise :class:`FetchFailed` (and charge nothing) if that goes over."""
        with self._lock:
            if self._used + n > self.limit:
                raise self.exceeded_error(field)
            self._used += n


@dataclass(frozen=True)
class _Target:
    """One URL to fetch, parsed and normalised; ``host`` is ASCII (IDNA) without IPv6 brackets."""

    url: httpx.URL
    scheme: str
    host: str
    port: int

    @property
    def host_for_header(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def host_header(self) -> str:
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return self.host_for_header
        return f"{self.host_for_header}:{self.port}"

    @property
    def allow_key(self) -> str:
        """The ``host:port`` string matched (case-insensitively) against ``SHIREN_FETCH_ALLOW_HOSTS``."""
        return f"{self.host_for_header}:{self.port}".lower()

    @property
    def log_name(self) -> str:
        return f"{self.scheme}://{self.host_for_header}"


def resolve(host: str, port: int) -> list[str]:
    """All TCP addresses of ``host`` (blocking; run in a thread). Tests replace this function."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(ip: IPAddress) -> bool:
    """True when ``ip`` is globally routable, looking through IPv4-in-IPv6 wrappers too.

    ``is_global`` already excludes loopback, RFC 1918, link-local (169.254.169.254), shared address space
    (100.100.100.200), ULA and friends; multicast and reserved ranges are excluded on top. IPv4-mapped,
    6to4 and NAT64 addresses are judged by the IPv4 address they carry.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip in _NAT64:  # a NAT64 gateway forwards to the embedded IPv4 address
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None and not is_public_address(ip.sixtofour):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _rejected(
    field: str, reason: str, target: _Target | None = None, *, kind: str = "image", permanent: bool = False
) -> FetchFailed:
    """The exception for a refusal; ``permanent`` marks policy refusals (:class:`DestinationRefused`)."""
    what = f"{kind} URL refused" if permanent or kind == "image" else f"{kind} request failed"
    if target is None:
        log.info("%s: %s", what, reason)
    else:
        log.info("%s (%s): %s", what, target.log_name, reason)
    cls = DestinationRefused if permanent else FetchFailed
    return cls(field, reason)


def _is_ipv6_literal(host: str) -> bool:
    """An IPv6 literal without a zone (``fe80::1%eth0`` names an interface of *our* machine)."""
    if "%" in host:
        return False
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        return False


def _legacy_ipv4(host: str) -> str | None:
    """Canonical dotted quad if ``host`` is an IPv4 address in any inet_aton spelling, else None.

    Follows the WHATWG URL rule (a host whose last label is a number is an IPv4 address: ``0x7f000001``,
    ``2130706433``, ``127.1``, ``0177.0.0.1``), so the address we check does not depend on how the C
    library's resolver happens to read such names. Raises ValueError for numbers that do not fit.
    """
    labels = host.removesuffix(".").split(".")
    if not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMERIC_LABEL.fullmatch(label) for label in labels):
        raise ValueError("not an IPv4 address")
    numbers = []
    for label in labels:
        if label.startswith("0x"):
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise ValueError("not an IPv4 address")
    value = sum(n << (8 * (3 - i)) for i, n in enumerate(head)) + last
    return str(ipaddress.IPv4Address(value))


def _parse(url: str | httpx.URL, field: str, *, kind: str = "image") -> _Target:
    """Parse and vet the parts of a URL that can be judged without the network (refusals are permanent)."""

    def refuse(reason: str) -> FetchFailed:
        return _rejected(field, reason, kind=kind, permanent=True)

    if isinstance(url, str) and len(url) > MAX_URL_LENGTH:
        raise refuse(f"URL longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise refuse("not a valid URL") from None
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise refuse(f"only http and https {kind} URLs are accepted")
    if parsed.userinfo:
        raise refuse(f"{kind} URLs with a user name or password are not accepted")
    try:
        host = parsed.raw_host.decode("ascii").lower()
    except UnicodeDecodeError:
        raise refuse("not a valid URL") from None
    if not host:
        raise refuse(f"{kind} URL has no host")
    if not (_HOSTNAME.fullmatch(host) or _is_ipv6_literal(host)):
        raise refuse(f"{kind} URL has an invalid host name")
    if ":" not in host:
        try:
            host = _legacy_ipv4(host) or host
        except ValueError:
            raise refuse(f"{kind} URL has an invalid host name") from None
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise refuse(f"{kind} URL has an invalid port")
    return _Target(url=parsed, scheme=scheme, host=host, port=port)


async def _checked_addresses(
    target: _Target, settings: Settings, field: str, *, kind: str = "image"
) -> list[IPAddress]:
    """Resolve once and return the addresses we may connect to, or refuse the URL."""
    unresolved = f"{kind} host name could not be resolved"
    try:
        found = await asyncio.to_thread(resolve, target.host, target.port)
        addresses = [ipaddress.ip_address(a) for a in found]
    except (OSError, UnicodeError, ValueError):
        raise _rejected(field, unresolved, target, kind=kind) from None
    if not addresses:
        raise _rejected(field, unresolved, target, kind=kind)
    if target.allow_key not in settings.fetch_allowed and not all(is_public_address(a) for a in addresses):
        raise _rejected(field, "host resolves to a non-public address", target, kind=kind, permanent=True)
    usable = [a for a in addresses if not (isinstance(a, ipaddress.IPv6Address) and a.scope_id)]
    if not usable:
        reason = "host resolves only to link-local addresses with a zone"
        raise _rejected(field, reason, target, kind=kind, permanent=True)
    return usable


async def _send_pinned(
    client: httpx.AsyncClient,
    target: _Target,
    addresses: list[IPAddress],
    field: str,
    *,
    kind: str = "image",
    method: str = "GET",
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Send the request to one of the checked addresses, keeping the original name for Host and TLS."""
    last_error: httpx.ConnectError | None = None
    for address in addresses[:MAX_CONNECT_ATTEMPTS]:
        request = client.build_request(
            method,
            target.url.copy_with(host=str(address)),
            content=content,
            headers={**(headers or {}), "Host": target.host_header},
            extensions={"sni_hostname": target.host},
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError as exc:
            last_error = exc
    assert last_error is not None
    if _caused_by_tls(last_error):
        reason = f"TLS handshake with {kind} host failed (certificate not valid for host?)"
        raise _rejected(field, reason, target, kind=kind)
    raise _rejected(field, f"could not connect to {kind} host", target, kind=kind)


def _caused_by_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _read_body(
    response: httpx.Response, target: _Target, settings: Settings, budget: RequestBudget, field: str
) -> bytes:
    """Stream the body, stopping as soon as the per-image limit or the request budget is passed."""
    limit = settings.max_image_bytes
    too_large = f"image larger than {human_size(limit)}"
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise _rejected(field, "image host sent a content-encoded (compressed) response", target)
    declared = response.headers.get("content-length", "")
    if declared.isdigit():
        if int(declared) > limit:
            raise _rejected(field, too_large, target)
        if int(declared) > budget.remaining:
            raise budget.exceeded_error(field)
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_raw():
        total += len(chunk)
        if total > limit:
            raise _rejected(field, too_large, target)
        budget.consume(len(chunk), field)
        chunks.append(chunk)
    return b"".join(chunks)


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """certifi's CA bundle (or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), built once: loading it is not free."""
    return httpx.create_ssl_context()


def _client(
    timeout_s: float, ssl_context: ssl.SSLContext | None, headers: Mapping[str, str] | None
) -> httpx.AsyncClient:
    """A client that never follows redirects, ignores proxy settings and never reuses connections."""
    return httpx.AsyncClient(
        headers=headers,
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
        verify=ssl_context if ssl_context is not None else _default_ssl_context(),
        # No connection reuse: a kept-alive TLS connection verified for one name must not serve another.
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def _fetch(
    visited: list[_Target],
    settings: Settings,
    budget: RequestBudget,
    field: str,
    ssl_context: ssl.SSLContext | None,
) -> bytes:
    """Fetch ``visited[0]``, appending each redirect target to ``visited`` (the caller logs the last)."""
    target = visited[0]
    async with _client(settings.fetch_timeout_s, ssl_context, _HEADERS) as client:
        for hop in range(MAX_REDIRECTS + 1):
            addresses = await _checked_addresses(target, settings, field)
            log.debug("fetching image from %s", target.log_name)
            response = await _send_pinned(client, target, addresses, field)
            try:
                status = response.status_code
                if status in _REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise _rejected(
                            field, f"HTTP {status} redirect without a Location from image host", target
                        )
                    if hop == MAX_REDIRECTS:
                        raise _rejected(field, f"more than {MAX_REDIRECTS} redirects", target)
                    try:
                        next_url = target.url.join(location)
                    except (httpx.InvalidURL, ValueError):
                        raise _rejected(field, "image host redirected to an invalid URL", target) from None
                    target = _parse(next_url, field)
                    visited.append(target)
                    continue
                if not 200 <= status < 300:
                    raise _rejected(field, f"HTTP {status} from image host", target)
                return await _read_body(response, target, settings, budget, field)
            finally:
                await response.aclose()
    raise AssertionError("unreachable")  # pragma: no cover


async def fetch_image(
    url: str,
    settings: Settings,
    *,
    budget: RequestBudget,
    field: str = "ImageUrl",
    ssl_context: ssl.SSLContext | None = None,
) -> bytes:
    """Download the image at ``url`` (an integrator's API parameter named ``field``) and return its bytes.

    Raises :class:`FetchFailed` for anything wrong with the URL, the host, the transfer or the size; the
    message starts with ``field``. The bytes are not checked to be an image: pass them to
    :func:`shiren.intake.images.decode_image` (in a thread). ``ssl_context`` replaces the default CA
    store (e.g. an on-premises CA); certificates are always checked against the URL's host name.
    """
    visited = [_parse(url, field)]
    timeout_s = settings.fetch_timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            return await _fetch(visited, settings, budget, field, ssl_context)
    except (TimeoutError, httpx.TimeoutException):
        raise _rejected(field, f"timed out after {timeout_s:g} s", visited[-1]) from None
    except httpx.HTTPError as exc:
        reason = f"transfer from image host failed ({type(exc).__name__})"
        raise _rejected(field, reason, visited[-1]) from None


def fetch_image_sync(
    url: str,
    settings: Settings,
    *,
    budget: RequestBudget,
    field: str = "ImageUrl",
    ssl_context: ssl.SSLContext | None = None,
) -> bytes:
    """:func:`fetch_image` for callers without an event loop (workers, command line)."""
    return asyncio.run(fetch_image(url, settings, budget=budget, field=field, ssl_context=ssl_context))


@dataclass(frozen=True)
class CheckedResponse:
    """What :func:`send_checked_request` returns: the status and headers (the body is read and dropped)."""

    status_code: int
    headers: httpx.Headers


async def send_checked_request(
    method: str,
    url: str,
    settings: Settings,
    *,
    timeout_s: float,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    field: str = "Url",
    kind: str = "callback",
    ssl_context: ssl.SSLContext | None = None,
    max_response_bytes: int = 64 * 1024,
) -> CheckedResponse:
    """Send one request to ``url`` under the address rules of image fetches (SPEC 4.6), at send time.

    The host is resolved and every address checked (``SHIREN_FETCH_ALLOW_HOSTS`` exempts ``host:port``),
    the connection goes to the checked address, and a redirect is *not* followed: a 3xx comes back as a
    status like any other, because a redirect target would escape the check. ``timeout_s`` bounds the
    whole exchange. At most ``max_response_bytes`` of the answer are read, then the connection is closed.

    Raises :class:`DestinationRefused` when the URL or its addresses are not allowed (retrying will not
    help) and :class:`FetchFailed` for network failures (resolution, connection, timeout, transfer).
    Messages start with ``field`` and never contain the URL.
    """
    target = _parse(url, field, kind=kind)
    try:
        async with asyncio.timeout(timeout_s), _client(timeout_s, ssl_context, None) as client:
            addresses = await _checked_addresses(target, settings, field, kind=kind)
            log.debug("sending %s %s request to %s", method, kind, target.log_name)
            response = await _send_pinned(
                client, target, addresses, field, kind=kind, method=method, content=content, headers=headers
            )
            try:
                seen = 0
                async for chunk in response.aiter_raw():
                    seen += len(chunk)
                    if seen >= max_response_bytes:
                        break
            finally:
                await response.aclose()
            return CheckedResponse(response.status_code, response.headers)
    except (TimeoutError, httpx.TimeoutException):
        raise _rejected(field, f"timed out after {timeout_s:g} s", target, kind=kind) from None
    except httpx.HTTPError as exc:
        reason = f"transfer to {kind} host failed ({type(exc).__name__})"
        raise _rejected(field, reason, target, kind=kind) from None
