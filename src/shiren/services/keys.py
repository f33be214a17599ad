"""Master key rotation: a new master key wraps every stored key; blobs and fields are not re-encrypted.

With the key file (the default), ``rotate`` writes a new ``master.key``, keeps the old one under
``master.keys/`` so it still opens what it wrapped, and re-wraps every data key and the system key under
the new one while servers keep running (they reload the key file when it changes, and open old wraps with
the old key until it is destroyed). When the key comes from ``SHIREN_MASTER_KEY``, the operator sets the
new key there and the old one in ``SHIREN_PREVIOUS_MASTER_KEYS`` on every process, then runs ``rotate`` to
re-wrap. ``destroy`` deletes an old key once nothing is wrapped by it any more.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from shiren.runtime import Runtime
from shiren.services.errors import Conflict, NotFound
from shiren.storage.keyring import KEY_FILE, PREVIOUS_DIR, key_id, write_key_file
from shiren.storage.repo import audit
from shiren.storage.repo.keys import keys_wrapped_by, rewrap_batch

# After the switch, servers that read the old key id just before it may still wrap a few new keys with
# it: one more pass this long after a pass that found nothing catches them.
SETTLE_S = 1.0


@dataclass(frozen=True)
class KeyStatus:
    current: str
    wraps: dict[str, int]  # every known master key id → stored keys it still wraps


def key_status(runtime: Runtime) -> KeyStatus:
    keyring = runtime.crypto.keyring
    keyring.reload()
    with runtime.sessions() as session:
        wraps = {kid: keys_wrapped_by(session, kid) for kid in keyring.ids}
    return KeyStatus(keyring.current_id, wraps)


def _switch_key_file(runtime: Runtime) -> str:
    """A new current key in the key file; the old one moves to the previous keys (first, so that no
    moment exists where a wrapped key has no key to open it)."""
    data_dir = runtime.settings.data_dir
    keyring = runtime.crypto.keyring
    old = keyring.key(keyring.current_id)
    write_key_file(data_dir / PREVIOUS_DIR / f"{key_id(old)}.key", old)
    new = secrets.token_bytes(32)
    write_key_file(data_dir / KEY_FILE, new)
    keyring.reload()
    return key_id(new)


def rewrap_all(runtime: Runtime, *, batch: int = 500) -> int:
    """Re-wrap every stored key under the current master key; returns how many were re-wrapped."""
    total = 0
    quiet = 0
    while quiet < 2:
        with runtime.sessions() as session, session.begin():
            done = rewrap_batch(session, runtime.crypto.keyring, limit=batch)
        total += done
        if done == 0:
            quiet += 1
            if quiet < 2:
                time.sleep(SETTLE_S)
        else:
            quiet = 0
    return total


def rotate(runtime: Runtime, *, actor: str = "cli") -> tuple[str, int]:
    """Switch to a new master key (key file) and re-wrap everything; returns the new key id and count."""
    keyring = runtime.crypto.keyring
    new_id = _switch_key_file(runtime) if keyring.file_based else keyring.current_id
    count = rewrap_all(runtime)
    with runtime.sessions() as session, session.begin():
        audit.record(session, "key.rotate", new_id, detail={"rewrapped": count, "actor": actor})
    return new_id, count


def destroy(runtime: Runtime, kid: str, *, actor: str = "cli") -> None:
    """Delete an old master key's file; refused while it is current or still wraps a stored key."""
    status = key_status(runtime)
    if kid == status.current:
        raise Conflict("the current master key cannot be destroyed; rotate first")
    if kid not in status.wraps:
        raise NotFound(f"no previous master key {kid}")
    if status.wraps[kid]:
        raise Conflict(f"master key {kid} still wraps {status.wraps[kid]} key(s); run `shiren key rotate`")
    path = runtime.settings.data_dir / PREVIOUS_DIR / f"{kid}.key"
    if not path.exists():
        raise NotFound(
            f"master key {kid} is not a key file here (remove it from SHIREN_PREVIOUS_MASTER_KEYS)"
        )
    path.unlink()
    runtime.crypto.keyring.reload()
    with runtime.sessions() as session, session.begin():
        audit.record(session, "key.destroy", kid, detail={"actor": actor})
