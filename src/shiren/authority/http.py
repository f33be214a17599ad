"""The ``http`` authority: a documented JSON contract to an upstream identity service.

Request:  ``POST SHIREN_AUTHORITY_HTTP_URL`` with ``{"name": "...", "idNumber": "..."}`` and, when set,
``Authorization: Bearer SHIREN_AUTHORITY_HTTP_TOKEN``.
Response: 200 with ``{"match": true|false, "photo": "<base64 JPEG/PNG>"|null, "found": true|false}``.
``found`` is optional: whether the upstream holds a record of the ID number at all, so that "no record" can
be told from "the name does not match" (Id2Meta BizCode 3 vs 2); absent or null means "not said".
Anything else (timeout, non-200, malformed JSON) means the authority is unavailable: VerifyStatus 12.
The URL is the operator's own configuration, so it is not subject to the image-URL address rules.
"""

from __future__ import annotations

import base64
import binascii

import httpx

from shiren.authority.base import AuthorityAnswer, AuthorityUnavailable


class HttpAuthority:
    name = "http"

    def __init__(self, url: str | None, *, token: str | None = None, timeout_s: float = 5.0) -> None:
        self._url = url
        self._timeout = timeout_s
        self._token = token

    def lookup(self, tenant_id: int, name: str, id_number: str) -> AuthorityAnswer:
        if not self._url:
            raise AuthorityUnavailable("SHIREN_AUTHORITY_HTTP_URL is not configured")
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            resp = httpx.post(
                self._url, json={"name": name, "idNumber": id_number}, headers=headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            raise AuthorityUnavailable(f"authority request failed: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise AuthorityUnavailable(f"authority answered HTTP {resp.status_code}")
        try:
            body = resp.json()
            match = body["match"]
            photo_b64 = body.get("photo")
            found = body.get("found")
            if not isinstance(match, bool):
                raise TypeError("match must be a boolean")
            if found is not None and not isinstance(found, bool):
                raise TypeError("found must be a boolean when present")
            photo = base64.b64decode(photo_b64, validate=True) if photo_b64 else None
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise AuthorityUnavailable(f"authority answer is malformed: {exc}") from None
        return AuthorityAnswer(identity_match=match, photo=photo, record_found=found)
