"""The two signature algorithms of Alibaba Cloud's RPC API (SPEC 4.1 and 4.2), as pure functions."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

ACS3 = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def pct(value: str) -> str:
    """RFC 3986 percent-encoding: unreserved characters kept, everything else ``%XX`` upper-case."""
    return quote(value, safe="-_.~")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params))


# --- RPC v1, HMAC-SHA1 -------------------------------------------------------------------------------


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&pct(sorted k=v)`` over every parameter except ``Signature``."""
    query = canonical_query((k, v) for k, v in params.items() if k != "Signature")
    return f"{method.upper()}&{pct('/')}&{pct(query)}"


def v1_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# --- ACS3-HMAC-SHA256 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acs3Authorization:
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_acs3_authorization(header: str) -> Acs3Authorization | None:
    """Parse ``ACS3-HMAC-SHA256 Credential=…,SignedHeaders=a;b,Signature=hex``; None when malformed."""
    if not header.startswith(ACS3 + " "):
        return None
    fields: dict[str, str] = {}
    for part in header[len(ACS3) + 1 :].split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return None
        fields[name] = value
    try:
        signed = tuple(h.strip().lower() for h in fields["SignedHeaders"].split(";") if h.strip())
        return Acs3Authorization(fields["Credential"], signed, fields["Signature"])
    except KeyError:
        return None


def acs3_canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    hashed_payload: str,
) -> str:
    """``headers`` maps lower-case names to values; ``signed_headers`` come from the Authorization header."""
    names = sorted(signed_headers)
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
    return "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            canonical_headers,
            ";".join(names),
            hashed_payload,
        ]
    )


def acs3_string_to_sign(canonical_request: str) -> str:
    return f"{ACS3}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def acs3_signature(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison, so response timing reveals nothing about the expected signature."""
    return hmac.compare_digest(a.encode(), b.encode())
