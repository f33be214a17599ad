"""Master key rotation: every stored key is re-wrapped under a new master key while a server runs, no
blob is re-encrypted, and once the old key is destroyed everything still opens with the new one alone."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from shiren.runtime import Runtime
from shiren.services import keys
from shiren.services.errors import Conflict
from shiren.settings import Settings
from shiren.storage.keyring import KEY_FILE, PREVIOUS_DIR
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tasks import attempt_identity, media_cipher, start_attempt
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.sdk import models, tea
from tests.support import ShirenServer


def _attempts(runtime: Runtime, n: int) -> list[tuple[str, str]]:
    """``n`` attempts with a name and an image blob each: (VerifyToken, blob id)."""
    out = []
    with runtime.sessions() as session, session.begin():
        tenant = get_or_create_tenant(session, "rot")
        scene = create_scene(session, runtime.crypto, tenant.id, "Rot", "RPBioOnly")
        for i in range(n):
            attempt = start_attempt(
                session,
                runtime.crypto,
                scene,
                f"biz-{i}",
                ttl=timedelta(minutes=5),
                name=f"名{i}",
                id_number="11010519491231002X",
            )
            blob = runtime.blobs.put(f"image {i}".encode(), media_cipher(runtime.crypto, attempt))
            out.append((attempt.verify_token, blob))
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_all(runtime: Runtime, made: list[tuple[str, str]]) -> None:
    from shiren.storage.repo.tasks import attempt_by_token

    with runtime.sessions() as session:
        for i, (token, blob) in enumerate(made):
            attempt = attempt_by_token(session, token)
            assert attempt is not None
            assert attempt_identity(runtime.crypto, attempt)[0] == f"名{i}"
            assert runtime.blobs.get(blob, media_cipher(runtime.crypto, attempt)) == f"image {i}".encode()


def test_rotate_rewraps_every_key_without_touching_blobs_then_the_old_key_goes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    runtime = Runtime.build(settings)
    made = _attempts(runtime, 25)
    blob_files = sorted((tmp_path / "blobs").rglob("*"))
    before = {p: _digest(p) for p in blob_files if p.is_file()}
    old_id = runtime.crypto.keyring.current_id

    new_id, count = keys.rotate(runtime)

    assert new_id != old_id and count == 26  # 25 attempts and the system key
    status = keys.key_status(runtime)
    assert status.current == new_id and status.wraps == {new_id: 26, old_id: 0}
    assert (tmp_path / PREVIOUS_DIR / f"{old_id}.key").exists()
    # Not one blob was re-encrypted.
    assert {p: _digest(p) for p in before} == before
    # The current key cannot be destroyed; the old one can, and afterwards a fresh process with only the
    # new key reads every field and blob.
    with pytest.raises(Conflict):
        keys.destroy(runtime, new_id)
    keys.destroy(runtime, old_id)
    assert not (tmp_path / PREVIOUS_DIR / f"{old_id}.key").exists()
    fresh = Runtime.build(Settings(data_dir=tmp_path))
    assert fresh.crypto.keyring.ids == [new_id]
    _read_all(fresh, made)


def test_an_old_key_that_still_wraps_something_is_not_destroyed(tmp_path: Path) -> None:
    runtime = Runtime.build(Settings(data_dir=tmp_path))
    _attempts(runtime, 2)
    old_id = runtime.crypto.keyring.current_id
    keys.rotate(runtime)
    db = sqlite3.connect(tmp_path / "shiren.db")
    with db:  # as if a server wrapped one more key with the old master key after the re-wrap
        db.execute("UPDATE attempts SET record_kek = ? WHERE id = 1", (old_id,))
    with pytest.raises(Conflict):
        keys.destroy(runtime, old_id)


def test_rotation_while_a_server_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ShirenServer(data)
    server.start()
    try:
        key = server.new_tenant("live", [("Live", "RPBioOnly")])
        client = tea(server, key)

        def token(biz: str) -> str:
            return client.describe_verify_token(
                models.DescribeVerifyTokenRequest(
                    biz_id=biz, biz_type="Live", name="张三", id_card_number="11010519491231002X"
                )
            ).body.verify_token

        tokens = [token("before")]
        old = server.cli_json("key", "status")["Current"]
        rotated = server.cli_json("key", "rotate")
        assert rotated["Current"] != old and rotated["Rewrapped"] >= 2
        # The running server follows: a new attempt is wrapped by the new key at once.
        tokens.append(token("after"))
        status = server.cli_json("key", "status")
        assert status["Wraps"][old] == 0, status
        server.cli("key", "destroy", old)
        assert not (data / PREVIOUS_DIR / f"{old}.key").exists()
        # The server goes on answering with the old key gone.
        result = client.describe_verify_result(
            models.DescribeVerifyResultRequest(biz_id="after", biz_type="Live")
        )
        assert result.body.verify_status == -1
    finally:
        server.stop()
    # The new key alone opens what was written before and after the rotation.
    from shiren.storage.repo.tasks import attempt_by_token

    runtime = Runtime.build(Settings(data_dir=data))
    assert (data / KEY_FILE).exists() and runtime.crypto.keyring.ids == [rotated["Current"]]
    with runtime.sessions() as session:
        for t in tokens:
            attempt = attempt_by_token(session, t)
            assert attempt is not None and attempt_identity(runtime.crypto, attempt) == (
                "张三",
                "11010519491231002X",
            )


def test_a_wrong_master_key_is_a_clear_error(tmp_path: Path) -> None:
    import base64

    from shiren.storage.keyring import MasterKeyError

    Runtime.build(Settings(data_dir=tmp_path, master_key=base64.b64encode(b"a" * 32).decode())).close()
    with pytest.raises(MasterKeyError, match="no master key here opens this installation's system key"):
        Runtime.build(Settings(data_dir=tmp_path, master_key=base64.b64encode(b"b" * 32).decode()))
