"""Image-URL fetching against real local servers: SSRF refusals, redirects, timeouts and size limits."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from pathlib import Path

import pytest

from shiren.intake import FetchFailed, RequestBudget, fetch_image, fetch_image_sync
from shiren.intake import fetch as fetch_module
from shiren.settings import Settings

from .conftest import JPEG, PNG, LocalServer, make_pki, start_tls_server, stop_server

MB = 1024 * 1024
FIELD = "FaceImageUrl"


def settings_for(*allowed: str, timeout: float = 2.0) -> Settings:
    return Settings(fetch_allow_hosts=",".join(allowed), fetch_timeout_s=timeout)


def fetch(url: str, settings: Settings, budget: RequestBudget | None = None, **kwargs: object) -> bytes:
    budget = budget or RequestBudget.from_settings(settings)
    return fetch_image_sync(url, settings, budget=budget, field=FIELD, **kwargs)  # type: ignore[arg-type]


def refused(url: str, settings: Settings, **kwargs: object) -> FetchFailed:
    with pytest.raises(FetchFailed) as info:
        fetch(url, settings, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == FIELD
    assert info.value.message.startswith(f"{FIELD}: ")
    assert str(info.value) == info.value.message
    return info.value


# --- allowed fetches ----------------------------------------------------------------------------------------


def test_allowlisted_loopback_host_is_fetched(server: LocalServer) -> None:
    settings = settings_for(server.authority)
    assert fetch(server.url("/img.jpg"), settings) == JPEG
    assert fetch(server.url("/img.png"), settings) == PNG
    assert [h.host for h in server.hits] == [server.authority] * 2


def test_async_api_in_a_running_loop(server: LocalServer) -> None:
    settings = settings_for(server.authority)

    async def main() -> bytes:
        return await fetch_image(server.url("/img.jpg"), settings, budget=RequestBudget(8 * MB), field=FIELD)

    assert asyncio.run(main()) == JPEG


def test_allowlist_is_case_insensitive_exact_host_and_port(server: LocalServer) -> None:
    settings = settings_for(f"LOCALHOST:{server.port}")
    assert fetch(server.url("/img.jpg", host="LocalHost"), settings) == JPEG
    # Same address, different spelling: not the listed host:port, so the address check applies.
    assert "non-public" in refused(server.url("/img.jpg"), settings).message
    assert "non-public" in refused(f"http://localhost:{server.port + 1}/img.jpg", settings).message


def test_numeric_host_spellings_are_normalised_before_matching(server: LocalServer) -> None:
    """``0x7f000001`` is 127.0.0.1 (as in browsers), whatever the C library's resolver would make of it."""
    settings = settings_for(server.authority)
    assert fetch(f"http://0x7f000001:{server.port}/img.jpg", settings) == JPEG
    assert server.hits[0].host == server.authority


# --- refused without any connection -------------------------------------------------------------------------


def test_loopback_is_refused_by_default(server: LocalServer) -> None:
    error = refused(server.url("/img.jpg"), settings_for())
    assert error.message == f"{FIELD}: host resolves to a non-public address"
    assert server.hits == []


def test_localhost_name_is_refused(server: LocalServer) -> None:
    error = refused(server.url("/img.jpg", host="localhost"), settings_for())
    assert "non-public" in error.message
    assert server.hits == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1]/", "non-public address"),
        ("http://[::1]:8080/x.jpg", "non-public address"),
        ("http://0x7f000001/", "non-public address"),
        ("http://2130706433/", "non-public address"),
        ("http://127.1/", "non-public address"),
        ("http://0177.0.0.1/", "not a valid URL"),
        ("http://0177.1/", "non-public address"),
        ("http://0x7f.1/", "non-public address"),
        ("http://256.1.1.1/", "not a valid URL"),
        ("http://256.1/", "invalid host name"),
        ("http://1.2.3.4.5/", "invalid host name"),
        ("http://09.1.1.1/", "not a valid URL"),
        ("http://09.1/", "invalid host name"),
        ("http://0.0.0.0/", "non-public address"),
        ("http://169.254.169.254/latest", "non-public address"),
        ("http://100.100.100.200/latest/meta-data", "non-public address"),
        ("http://10.1.2.3/a.jpg", "non-public address"),
        ("https://192.168.1.1/a.jpg", "non-public address"),
        ("http://[::ffff:127.0.0.1]/", "non-public address"),
        ("http://[::ffff:a9fe:a9fe]/", "non-public address"),
        ("http://[fd00::1]/", "non-public address"),
        ("http://[fe80::1]/", "non-public address"),
        ("http://[64:ff9b::a00:1]/", "non-public address"),
        ("http://224.0.0.1/", "non-public address"),
        ("ftp://example.com/a.jpg", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("data:image/png;base64,AAAA", "only http and https"),
        ("http://user:pass@example.com/a.jpg", "user name or password"),
        ("http://user@example.com/a.jpg", "user name or password"),
        ("http:///a.jpg", "no host"),
        ("http://example.com:0/", "invalid port"),
        ("http://example.com:99999/", "invalid port"),
        ("http://exa mple.com/", "invalid host name"),
        ("http://exa%00mple.com/", "invalid host name"),
        ("http://[fe80::1%25lo]/", "invalid host name"),
        ("not a url", "only http and https"),
        ("http://example.com/" + "a" * 5000, "longer than 4096"),
    ],
)
def test_refused_urls(url: str, reason: str) -> None:
    assert reason in refused(url, settings_for()).message


def test_every_resolved_address_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_module, "resolve", lambda host, port: ["93.184.216.34", "10.0.0.5"])
    assert "non-public" in refused("https://images.example.com/a.jpg", settings_for()).message


def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(fetch_module, "resolve", fail)
    assert "could not be resolved" in refused("https://nowhere.invalid/a.jpg", settings_for()).message


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("100.100.100.200", False),
        ("::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:1::1", False),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 wrapping 10.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 wrapping 8.8.8.8
        ("fc00::1", False),
        ("239.255.255.250", False),
        ("255.255.255.255", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert fetch_module.is_public_address(ipaddress.ip_address(address)) is public


# --- DNS rebinding and Host/SNI -----------------------------------------------------------------------------


def test_connects_to_the_checked_address_with_original_host_header(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One lookup per hop; the name never reaches another resolver (no second, rebindable answer)."""
    answers = iter([["127.0.0.1"], ["169.254.169.254"]])
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    real_getaddrinfo = socket.getaddrinfo

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        assert host != "images.test", "the image host name was resolved a second time"
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fetch_module, "resolve", resolve)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    settings = settings_for(f"images.test:{server.port}")
    assert fetch(server.url("/img.jpg", host="images.test"), settings) == JPEG
    assert lookups == ["images.test"]
    assert server.hits[0].host == f"images.test:{server.port}"


def test_https_uses_original_name_for_sni_and_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = make_pki(tmp_path, "images.test")
    tls = start_tls_server(pki)
    try:
        monkeypatch.setattr(fetch_module, "resolve", lambda host, port: ["127.0.0.1"])
        settings = settings_for(f"images.test:{tls.port}")
        trusted = ssl.create_default_context(cadata=pki.ca_pem.decode())
        url = tls.url("/img.jpg", host="images.test")
        assert fetch(url, settings, ssl_context=trusted) == JPEG
        assert tls.sni_names == ["images.test"]
        assert tls.hits[0].host == f"images.test:{tls.port}"
        # The default trust store does not know the test CA.
        assert "TLS" in refused(url, settings).message
    finally:
        stop_server(tls)


def test_https_certificate_for_another_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = make_pki(tmp_path, "elsewhere.test")
    tls = start_tls_server(pki)
    try:
        monkeypatch.setattr(fetch_module, "resolve", lambda host, port: ["127.0.0.1"])
        settings = settings_for(f"images.test:{tls.port}")
        trusted = ssl.create_default_context(cadata=pki.ca_pem.decode())
        error = refused(tls.url("/img.jpg", host="images.test"), settings, ssl_context=trusted)
        assert "TLS" in error.message
        assert tls.hits == []
    finally:
        stop_server(tls)


# --- redirects ----------------------------------------------------------------------------------------------


def test_redirects_are_followed_up_to_three(server: LocalServer) -> None:
    settings = settings_for(server.authority)
    assert fetch(server.url("/chain/3"), settings) == JPEG
    assert "more than 3 redirects" in refused(server.url("/chain/4"), settings).message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_statuses(server: LocalServer, status: int) -> None:
    settings = settings_for(server.authority)
    assert fetch(server.url(f"/redirect?status={status}&to=/img.png"), settings) == PNG


def test_redirect_to_unlisted_private_host_is_refused(server: LocalServer, other_server: LocalServer) -> None:
    settings = settings_for(server.authority)
    target = other_server.url("/img.jpg")
    error = refused(server.url(f"/redirect?to={target}"), settings)
    assert "non-public" in error.message
    assert other_server.hits == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[::1]/",
        "file:///etc/passwd",
        "http://user:pw@example.com/",
    ],
)
def test_redirect_targets_are_checked_again(server: LocalServer, target: str) -> None:
    error = refused(server.url(f"/redirect?to={target}"), settings_for(server.authority))
    assert "non-public" in error.message or "only http" in error.message or "password" in error.message


def test_redirect_to_other_allowlisted_host_is_followed(
    server: LocalServer, other_server: LocalServer
) -> None:
    settings = settings_for(server.authority, other_server.authority)
    assert fetch(server.url(f"/redirect?to={other_server.url('/img.png')}"), settings) == PNG


def test_redirect_without_location(server: LocalServer) -> None:
    assert "without a Location" in refused(server.url("/no-location"), settings_for(server.authority)).message


# --- HTTP errors and timeouts -------------------------------------------------------------------------------


def test_http_404(server: LocalServer) -> None:
    error = refused(server.url("/missing.jpg"), settings_for(server.authority))
    assert error.message == f"{FIELD}: HTTP 404 from image host"


def test_connection_refused(server: LocalServer) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    error = refused(f"http://127.0.0.1:{port}/a.jpg", settings_for(f"127.0.0.1:{port}"))
    assert "could not connect" in error.message


def test_timeout_waiting_for_response(server: LocalServer) -> None:
    started = time.monotonic()
    error = refused(server.url("/slow-headers"), settings_for(server.authority, timeout=0.3))
    assert error.message == f"{FIELD}: timed out after 0.3 s"
    assert time.monotonic() - started < 2


def test_total_timeout_on_a_trickling_body(server: LocalServer) -> None:
    """Each read succeeds quickly, so only the overall deadline can stop this one."""
    started = time.monotonic()
    error = refused(server.url("/trickle"), settings_for(server.authority, timeout=0.4))
    assert "timed out" in error.message
    assert time.monotonic() - started < 2


# --- size limits --------------------------------------------------------------------------------------------


def test_image_of_exactly_2mb_is_accepted(server: LocalServer) -> None:
    assert len(fetch(server.url(f"/bytes/{2 * MB}"), settings_for(server.authority))) == 2 * MB


@pytest.mark.parametrize("path", [f"/bytes/{2 * MB + 1}", f"/stream/{5 * MB}"])
def test_image_over_2mb_is_refused(server: LocalServer, path: str) -> None:
    """Refused from Content-Length when there is one, else while streaming."""
    budget = RequestBudget(8 * MB)
    error = refused(server.url(path), settings_for(server.authority), budget=budget)
    assert error.message == f"{FIELD}: image larger than 2 MB"
    assert budget.used <= 2 * MB


def test_request_budget_of_8mb_across_images(server: LocalServer) -> None:
    settings = settings_for(server.authority)
    budget = RequestBudget.from_settings(settings)
    size = 19 * MB // 10
    for _ in range(4):
        assert len(fetch(server.url(f"/bytes/{size}"), settings, budget=budget)) == size
    error = refused(server.url(f"/bytes/{size}"), settings, budget=budget)
    assert error.message == f"{FIELD}: images of this request exceed 8 MB in total"
    error = refused(server.url(f"/stream/{size}"), settings, budget=budget)
    assert "exceed 8 MB in total" in error.message
    assert budget.used <= 8 * MB


def test_request_budget_shared_by_concurrent_fetches(server: LocalServer) -> None:
    settings = settings_for(server.authority)
    budget = RequestBudget.from_settings(settings)
    size = 19 * MB // 10

    async def main() -> list[bytes | BaseException]:
        fetches = [fetch_image(server.url(f"/stream/{size}"), settings, budget=budget) for _ in range(5)]
        return await asyncio.gather(*fetches, return_exceptions=True)

    results = asyncio.run(main())
    errors = [r for r in results if isinstance(r, FetchFailed)]
    assert len(errors) >= 1
    assert all("exceed 8 MB in total" in e.message for e in errors)
    assert budget.used <= 8 * MB


def test_compressed_response_is_refused(server: LocalServer) -> None:
    assert "content-encoded" in refused(server.url("/gzip"), settings_for(server.authority)).message


# --- logging ------------------------------------------------------------------------------------------------


def test_url_path_and_query_are_never_logged(server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="shiren.intake")
    secret = "Signature=SECRET-TOKEN"
    settings = settings_for(server.authority)
    fetch(server.url(f"/img.jpg?{secret}"), settings)
    for url in (server.url(f"/missing/secret-path?{secret}"), f"http://10.0.0.1/secret-path?{secret}"):
        error = refused(url, settings)
        assert "SECRET" not in error.message
    assert caplog.records, "expected the refusals to be logged"
    assert "SECRET" not in caplog.text and "secret-path" not in caplog.text
    assert "http://127.0.0.1" in caplog.text
