"""The signed result a device hands back to its app (SDK result, H5 redirect ``result=``).

It is a hint that cannot be forged, not a verdict to trust: only DescribeVerifyResult is authoritative.
Format: ``v1.<base64url JSON {t: VerifyToken, b: BizId, s: VerifyStatus, x: expiry (unix s)}>.<HMAC>``."""

from __future__ import annotations

import base64
import json
import time

from shiren.storage.crypto import Crypto


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def make_result_token(crypto: Crypto, verify_token: str, biz_id: str, status: int, ttl_s: int) -> str:
    payload = _b64(
        json.dumps(
            {"t": verify_token, "b": biz_id, "s": status, "x": int(time.time()) + ttl_s},
            separators=(",", ":"),
        ).encode()
    )
    return f"v1.{payload}.{crypto.sign('result' + chr(0) + payload)}"
