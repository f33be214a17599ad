"""Signed, expiring links to stored images (SPEC 4.5: valid 5 minutes; every read audited)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from shiren.runtime import Runtime
from shiren.storage.blobs import BlobNotFound
from shiren.storage.crypto import Cipher
from shiren.storage.models import Attempt, Blob
from shiren.storage.repo import audit
from shiren.storage.repo.blobs import blob_row
from shiren.storage.repo.tasks import DataErased, media_cipher


class LinkRejected(Exception):
    """The link is forged, expired, or points at an erased object."""


def _message(blob_id: str, tenant_id: int, expires: int) -> str:
    return f"media\x00{blob_id}\x00{tenant_id}\x00{expires}"


def media_link(runtime: Runtime, blob_id: str, tenant_id: int, now: float | None = None) -> str:
    expires = int((now or time.time()) + runtime.settings.media_link_ttl_s)
    sig = runtime.crypto.sign(_message(blob_id, tenant_id, expires))
    query = urlencode({"t": tenant_id, "e": expires, "s": sig})
    return f"{runtime.settings.base_url}/media/{blob_id}?{query}"


@dataclass(frozen=True)
class MediaObject:
    data: bytes
    content_type: str


def open_media(
    runtime: Runtime, blob_id: str, tenant: str, expires: str, signature: str, remote: str | None
) -> MediaObject:
    """Check the link, then decrypt the object and write an audit record of the read."""
    try:
        tenant_id, expires_at = int(tenant), int(expires)
    except ValueError:
        raise LinkRejected("malformed link") from None
    if not runtime.crypto.verify(_message(blob_id, tenant_id, expires_at), signature):
        raise LinkRejected("invalid signature")
    if expires_at < time.time():
        raise LinkRejected("link expired")
    with runtime.sessions() as session, session.begin():
        blob = blob_row(session, blob_id)
        if blob is None or blob.tenant_id != tenant_id:
            raise LinkRejected("no such object")
        attempt = session.get(Attempt, blob.attempt_id) if blob.attempt_id is not None else None
        try:
            data = runtime.blobs.get(blob_id, media_cipher(runtime.crypto, attempt) if attempt else None)
        except (DataErased, BlobNotFound):
            raise LinkRejected("no such object") from None
        audit.record(
            session,
            "media.read",
            blob_id,
            tenant_id=tenant_id,
            remote=remote,
            detail={"kind": blob.kind, "attempt_id": blob.attempt_id},
        )
        return MediaObject(data, blob.content_type)


def store_blob(
    runtime: Runtime,
    data: bytes,
    *,
    tenant_id: int,
    attempt_id: int | None,
    kind: str,
    content_type: str,
    cipher: Cipher | None = None,
) -> Blob:
    """Encrypt (under ``cipher``: the verification's media key) and store ``data``; returns the metadata
    row for the caller to add in its transaction."""
    blob_id = runtime.blobs.put(data, cipher)
    return Blob(
        id=blob_id,
        tenant_id=tenant_id,
        attempt_id=attempt_id,
        kind=kind,
        content_type=content_type,
        size=len(data),
    )
