"""A minimal integrator-side client of shiren's signed API: RPC v1 (HMAC-SHA1) over httpx.

The demo deliberately talks to shiren the way an integrator's server does, over HTTP with an AccessKey,
instead of calling shiren's internals: what it shows is what an integrator would see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from shiren.api.rpc.signing import v1_signature, v1_string_to_sign

VERSION = "2019-03-07"


class ApiError(Exception):
    """shiren answered with an error (HTTP 4xx/5xx and ``{"Code", "Message"}``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CloudauthClient:
    endpoint: str  # e.g. http://127.0.0.1:8080
    access_key_id: str
    access_key_secret: str
    timeout_s: float = 60.0

    def call(self, action: str, **params: str) -> dict[str, Any]:
        """POST one signed action; returns the JSON body, raises ApiError on an error status."""
        form = {
            "Action": action,
            "Version": VERSION,
            "Format": "JSON",
            "AccessKeyId": self.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **{k: v for k, v in params.items() if v is not None},
        }
        form["Signature"] = v1_signature(self.access_key_secret, v1_string_to_sign("POST", form))
        try:
            response = httpx.post(self.endpoint.rstrip("/") + "/", data=form, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise ApiError(0, "NetworkError", str(exc)) from None
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            raise ApiError(
                response.status_code,
                str(body.get("Code", "Error")),
                str(body.get("Message", response.text[:200])),
            )
        return body
