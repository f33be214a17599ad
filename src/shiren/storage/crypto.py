"""Encryption at rest: one master key, purpose-bound subkeys.

The master key comes from ``SHIREN_MASTER_KEY`` (base64 of 32 bytes) or from ``<data_dir>/master.key``,
created with mode 0600 on first start. Each use (database fields, blobs, blind indexes, signed links) gets
its own subkey derived with HKDF, so a leak of one derived key does not expose the others.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE = "master.key"
_NONCE = 12


class MasterKeyError(RuntimeError):
    """The configured master key is unusable."""


def load_master_key(master_key_b64: str | None, data_dir: Path) -> bytes:
    """Return the 32-byte master key, creating the key file (0600) the first time."""
    if master_key_b64:
        try:
            key = base64.b64decode(master_key_b64, validate=True)
        except ValueError as exc:
            raise MasterKeyError("SHIREN_MASTER_KEY is not valid base64") from exc
        if len(key) != 32:
            raise MasterKeyError("SHIREN_MASTER_KEY must decode to 32 bytes")
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = base64.b64decode(path.read_bytes().strip())
        if len(key) != 32:
            raise MasterKeyError(f"{KEY_FILE} does not hold a 32-byte key") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(key) + b"\n")
    return key


class Crypto:
    """AES-GCM encryption and HMAC helpers keyed from the master key."""

    def __init__(self, master_key: bytes) -> None:
        self._master = master_key

    def _derive(self, purpose: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"shiren/{purpose}".encode()
        ).derive(self._master)

    @cached_property
    def _field(self) -> AESGCM:
        return AESGCM(self._derive("field"))

    @cached_property
    def _blob(self) -> AESGCM:
        return AESGCM(self._derive("blob"))

    @cached_property
    def _index_key(self) -> bytes:
        return self._derive("index")

    @cached_property
    def link_key(self) -> bytes:
        """Key for signed, expiring links and result tokens."""
        return self._derive("link")

    @staticmethod
    def _seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return nonce + aead.encrypt(nonce, plaintext, aad)

    @staticmethod
    def _open(aead: AESGCM, sealed: bytes, aad: bytes) -> bytes:
        return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)

    def encrypt_field(self, value: str | None, context: str) -> bytes | None:
        """Encrypt a personal field; ``context`` (e.g. ``attempt.name``) is bound as associated data."""
        if value is None:
            return None
        return self._seal(self._field, value.encode(), context.encode())

    def decrypt_field(self, sealed: bytes | None, context: str) -> str | None:
        if sealed is None:
            return None
        return self._open(self._field, sealed, context.encode()).decode()

    def encrypt_blob(self, data: bytes, blob_id: str) -> bytes:
        return self._seal(self._blob, data, blob_id.encode())

    def decrypt_blob(self, sealed: bytes, blob_id: str) -> bytes:
        return self._open(self._blob, sealed, blob_id.encode())

    def blind_index(self, value: str, scope: str) -> str:
        """Deterministic keyed hash, so an encrypted value can still be looked up by equality."""
        return hmac.new(self._index_key, f"{scope}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def sign(self, message: str) -> str:
        return (
            base64.urlsafe_b64encode(hmac.new(self.link_key, message.encode(), hashlib.sha256).digest())
            .decode()
            .rstrip("=")
        )

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)
