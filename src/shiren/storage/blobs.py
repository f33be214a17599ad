"""Blob store for images and videos: every object is encrypted before it touches the disk.

``BlobStore`` is the small interface; ``LocalBlobStore`` is the embedded default. An S3-compatible store
can implement the same three methods and be chosen by configuration.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

from shiren.storage.crypto import Cipher, Crypto


class BlobNotFound(KeyError):
    """No object with that id (or it was erased)."""


class BlobStore(Protocol):
    """``cipher``: whose key the object is sealed with (a verification's media key); the system key when
    not given (registry photos)."""

    def put(self, data: bytes, cipher: Cipher | None = None) -> str: ...

    def get(self, blob_id: str, cipher: Cipher | None = None) -> bytes: ...

    def delete(self, blob_id: str) -> None: ...


def new_blob_id() -> str:
    return secrets.token_hex(16)


class LocalBlobStore:
    """Encrypted files under ``<data_dir>/blobs/ab/abcdef…``; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path, crypto: Crypto) -> None:
        self._root = root
        self._crypto = crypto
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, blob_id: str) -> Path:
        if len(blob_id) != 32 or not all(c in "0123456789abcdef" for c in blob_id):
            raise BlobNotFound(blob_id)
        return self._root / blob_id[:2] / blob_id

    def put(self, data: bytes, cipher: Cipher | None = None) -> str:
        blob_id = new_blob_id()
        path = self._path(blob_id)
        path.parent.mkdir(exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write((cipher or self._crypto).encrypt_blob(data, blob_id))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return blob_id

    def get(self, blob_id: str, cipher: Cipher | None = None) -> bytes:
        try:
            sealed = self._path(blob_id).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(blob_id) from exc
        return (cipher or self._crypto).decrypt_blob(sealed, blob_id)

    def delete(self, blob_id: str) -> None:
        self._path(blob_id).unlink(missing_ok=True)
