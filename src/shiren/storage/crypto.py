"""Encryption at rest: purpose-bound subkeys of a system key, and one data key per verification.

The system key (32 random bytes; on an upgrade, the former master key itself, so nothing changes for data
already written) derives a subkey per use with HKDF (database fields, blobs, blind indexes, signed links):
a leak of one derived key does not expose the others. Each verification's personal data (fields and
blobs) is encrypted under its own data key instead, so erasing it is destroying that key: a backup of the
blob store then holds nothing anyone can read. Both kinds of key are stored wrapped by the master key
(``keyring``), never in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cached_property
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shiren.storage.keyring import Keyring

_NONCE = 12


def _derive(root: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"shiren/{purpose}".encode()).derive(
        root
    )


def _seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return nonce + aead.encrypt(nonce, plaintext, aad)


def _open(aead: AESGCM, sealed: bytes, aad: bytes) -> bytes:
    return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)


class Cipher(Protocol):
    """What encrypts one owner's data: the system key (``Crypto``) or a verification's ``DataKey``."""

    def encrypt_field(self, value: str | None, context: str) -> bytes | None: ...

    def decrypt_field(self, sealed: bytes | None, context: str) -> str | None: ...

    def encrypt_blob(self, data: bytes, blob_id: str) -> bytes: ...

    def decrypt_blob(self, sealed: bytes, blob_id: str) -> bytes: ...


class _Sealing:
    """Field and blob encryption under two AES-GCM keys; ``context`` / the blob id is associated data."""

    _field: AESGCM
    _blob: AESGCM

    def encrypt_field(self, value: str | None, context: str) -> bytes | None:
        if value is None:
            return None
        return _seal(self._field, value.encode(), context.encode())

    def decrypt_field(self, sealed: bytes | None, context: str) -> str | None:
        if sealed is None:
            return None
        return _open(self._field, sealed, context.encode()).decode()

    def encrypt_blob(self, data: bytes, blob_id: str) -> bytes:
        return _seal(self._blob, data, blob_id.encode())

    def decrypt_blob(self, sealed: bytes, blob_id: str) -> bytes:
        return _open(self._blob, sealed, blob_id.encode())


class DataKey(_Sealing):
    """One verification's key (its fields and blobs); erased by destroying the wrapped copy."""

    def __init__(self, key: bytes) -> None:
        self._field = AESGCM(_derive(key, "data/field"))
        self._blob = AESGCM(_derive(key, "data/blob"))


class Crypto(_Sealing):
    """System-key encryption and HMAC helpers, and the data keys of verifications."""

    def __init__(self, system_key: bytes, keyring: Keyring) -> None:
        self._root = system_key
        self.keyring = keyring
        self._field = AESGCM(_derive(system_key, "field"))
        self._blob = AESGCM(_derive(system_key, "blob"))

    @cached_property
    def _index_key(self) -> bytes:
        return _derive(self._root, "index")

    @cached_property
    def link_key(self) -> bytes:
        """Key for signed, expiring links and result tokens."""
        return _derive(self._root, "link")

    def new_data_key(self, context: str) -> tuple[DataKey, bytes, str]:
        """A fresh data key, its wrapped form and the id of the master key that wrapped it."""
        key = secrets.token_bytes(32)
        wrapped, kid = self.keyring.wrap(key, context)
        return DataKey(key), wrapped, kid

    def open_data_key(self, wrapped: bytes, kid: str, context: str) -> DataKey:
        return DataKey(self.keyring.unwrap(wrapped, kid, context))

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
