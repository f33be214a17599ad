"""Master keys: the current one wraps new data keys, earlier ones still open what they wrapped.

Envelope encryption: a master key never encrypts data. It wraps (AES-GCM) 32-byte data keys: one per
verification (erased by destroying it) and the system key the other subkeys are derived from. Rotating
the master key therefore re-wraps a few hundred bytes per verification and re-encrypts no blob.

Where keys live: ``SHIREN_MASTER_KEY`` (base64 of 32 bytes) or ``<data_dir>/master.key`` (mode 0600,
created on first start) is the current key; earlier ones are ``SHIREN_PREVIOUS_MASTER_KEYS`` (comma
separated) or the files ``<data_dir>/master.keys/<id>.key``. A key's id is a hash of it, stored next to
every wrap, so the right key is found without trying them all.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "master.key"
PREVIOUS_DIR = "master.keys"
_NONCE = 12


class MasterKeyError(RuntimeError):
    """The configured master key is unusable, or a wrap names a key this process does not have."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"shiren/master-key-id\x00" + key).hexdigest()[:16]


def _decode(b64: str, what: str) -> bytes:
    try:
        key = base64.b64decode(b64.strip(), validate=True)
    except ValueError as exc:
        raise MasterKeyError(f"{what} is not valid base64") from exc
    if len(key) != 32:
        raise MasterKeyError(f"{what} must decode to 32 bytes")
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key file atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(key) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _current_from_file(data_dir: Path) -> bytes:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _decode(path.read_text(), KEY_FILE)
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(key) + b"\n")
    return key


class Keyring:
    """The master keys of a process. Reloads from its sources when it meets a key id it does not know or
    when the key file changed (another process rotated), so running servers follow a rotation."""

    def __init__(self, master_key_b64: str | None, previous_b64: str | None, data_dir: Path) -> None:
        self._env_current = master_key_b64
        self._env_previous = previous_b64
        self._data_dir = data_dir
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._keys: dict[str, bytes] = {}
        self._current = ""
        self.reload()

    @property
    def file_based(self) -> bool:
        return not self._env_current

    def _file_stamp(self) -> float | None:
        try:
            return (self._data_dir / KEY_FILE).stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def reload(self) -> None:
        with self._lock:
            if self._env_current:
                current = _decode(self._env_current, "SHIREN_MASTER_KEY")
            else:
                current = _current_from_file(self._data_dir)
            keys = {key_id(current): current}
            for i, b64 in enumerate(filter(None, (self._env_previous or "").split(","))):
                old = _decode(b64, f"SHIREN_PREVIOUS_MASTER_KEYS[{i}]")
                keys[key_id(old)] = old
            folder = self._data_dir / PREVIOUS_DIR
            if folder.is_dir():
                for path in sorted(folder.glob("*.key")):
                    old = _decode(path.read_text(), path.name)
                    keys[key_id(old)] = old
            self._keys, self._current = keys, key_id(current)
            self._stamp = self._file_stamp()

    def _fresh(self) -> None:
        if self.file_based and self._file_stamp() != self._stamp:
            self.reload()

    @property
    def current_id(self) -> str:
        self._fresh()
        return self._current

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    def key(self, kid: str) -> bytes:
        if kid not in self._keys:
            self.reload()
        try:
            return self._keys[kid]
        except KeyError:
            raise MasterKeyError(f"master key {kid} is not available to this process") from None

    def wrap(self, data_key: bytes, context: str) -> tuple[bytes, str]:
        """``data_key`` sealed under the current master key, and that key's id."""
        kid = self.current_id
        nonce = secrets.token_bytes(_NONCE)
        return nonce + AESGCM(self._keys[kid]).encrypt(nonce, data_key, context.encode()), kid

    def unwrap(self, wrapped: bytes, kid: str, context: str) -> bytes:
        return AESGCM(self.key(kid)).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], context.encode())
