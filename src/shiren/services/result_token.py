"""The signed result a device hands back to its app (SDK result, H5 redirect ``result=``).

It is a hint that cannot be forged, not a verdict to trust: only DescribeVerifyResult is authoritative.
It travels in redirect URLs (browser history, referrers, logs), so it carries no credential: not the
VerifyToken, no personal data. Minted once when the attempt is decided and handed out until it expires.
Format: ``v1.<base64url JSON {b: BizId, s: VerifyStatus, x: expiry (unix s), n: random}>.<HMAC>``."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime

from shiren.storage.crypto import Crypto


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def make_result_token(crypto: Crypto, biz_id: str, status: int, expires_at: datetime) -> str:
    payload = _b64(
        json.dumps(
            {"b": biz_id, "s": status, "x": int(expires_at.timestamp()), "n": secrets.token_hex(8)},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )
    return f"v1.{payload}.{crypto.sign('result' + chr(0) + payload)}"
