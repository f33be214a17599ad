"""Short-lived, unguessable URLs for the images a demo user uploads, so VerifyMaterial can fetch them.

An integrator usually hands shiren URLs from its own object store; the demo keeps the bytes in memory for
a couple of minutes instead. Bounded in count and size, so anonymous uploads cannot exhaust memory.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

MAX_BYTES = 2 * 1024 * 1024
MAX_ITEMS = 64
TTL_S = 120.0
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str
    expires: float


class FileShelf:
    def __init__(self, ttl_s: float = TTL_S, max_items: int = MAX_ITEMS) -> None:
        self._ttl = ttl_s
        self._max = max_items
        self._items: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def put(self, data: bytes, content_type: str) -> str:
        if not data or len(data) > MAX_BYTES:
            raise ValueError("an image must be 1 byte to 2 MB")
        if content_type not in IMAGE_TYPES:
            raise ValueError("only JPEG, PNG or WebP images")
        key = secrets.token_urlsafe(24)
        with self._lock:
            self._purge()
            while len(self._items) >= self._max:
                self._items.pop(next(iter(self._items)))
            self._items[key] = StoredFile(data, content_type, time.monotonic() + self._ttl)
        return key

    def get(self, key: str) -> StoredFile | None:
        with self._lock:
            self._purge()
            return self._items.get(key)

    def discard(self, *keys: str | None) -> None:
        with self._lock:
            for key in keys:
                if key:
                    self._items.pop(key, None)

    def _purge(self) -> None:
        now = time.monotonic()
        for key in [k for k, v in self._items.items() if v.expires < now]:
            del self._items[key]
