"""Signature nonces in Redis, shared by every replica: ``SET NX EX`` is the atomic "seen before?" check.

Used instead of the database table (``repo/nonces.py``) when ``SHIREN_REDIS_URL`` is set: one round trip
and no row to write (nor purge) per request. The key is a hash of the AccessKey and the nonce, so it is
short and fixed-length whatever the client sends; Redis forgets it after ``ttl_s``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis import Redis


def nonce_key(access_key_id: str, nonce: str, prefix: str = "shiren:") -> str:
    digest = hashlib.blake2b(f"{access_key_id}\0{nonce}".encode(), digest_size=16).hexdigest()
    return f"{prefix}n:{digest}"


def claim_nonce_redis(
    redis: Redis, access_key_id: str, nonce: str, ttl_s: int, *, prefix: str = "shiren:"
) -> bool:
    """Record a nonce for ``ttl_s`` seconds; False when this AccessKey already used it (a replay).

    Raises ``redis.exceptions.RedisError`` when Redis cannot answer: the caller decides the fallback.
    """
    return bool(redis.set(nonce_key(access_key_id, nonce, prefix), b"1", nx=True, ex=max(1, int(ttl_s))))
