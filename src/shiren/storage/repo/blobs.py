"""Metadata rows of stored objects (the bytes are in the blob store)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shiren.storage.models import Blob, Upload


def blob_row(session: Session, blob_id: str) -> Blob | None:
    return session.get(Blob, blob_id)


def adopt_uploads(session: Session, attempt_id: int, tenant_id: int, uploads: list[Upload]) -> None:
    """Give the attempt's uploads their blob rows, so their media links resolve and erasure finds them."""
    for upload in uploads:
        if session.get(Blob, upload.blob_id) is None:
            session.add(
                Blob(
                    id=upload.blob_id,
                    tenant_id=tenant_id,
                    attempt_id=attempt_id,
                    kind=upload.kind,
                    content_type=upload.content_type,
                    size=upload.size,
                )
            )
