"""Encryption at rest, the master key file, signed expiring media links and their audit trail."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from pathlib import Path

import httpx
import pytest

from shiren.runtime import Runtime
from shiren.services.media import media_link, store_blob
from shiren.settings import Settings
from tests.sdk import models, tea
from tests.support import ShirenServer


def test_master_key_file_is_private(server: ShirenServer) -> None:
    mode = stat.S_IMODE(os.stat(server.data_dir / "master.key").st_mode)
    assert mode == 0o600


def test_names_and_numbers_are_not_in_the_database_file(server: ShirenServer, tenant_a: dict) -> None:
    tea(server, tenant_a).describe_verify_token(
        models.DescribeVerifyTokenRequest(
            biz_id="enc-1",
            biz_type="RPBioIDTest",
            name="欧阳娜娜",
            id_card_number="310104200001010022",
            callback_seed="s3cr3t-seed-value",
        )
    )
    with sqlite3.connect(server.data_dir / "shiren.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in server.data_dir.glob("shiren.db*"))
    for plain in ("欧阳娜娜", "310104200001010022", "s3cr3t-seed-value", tenant_a["AccessKeySecret"]):
        assert plain.encode() not in raw


def _runtime_for(server: ShirenServer) -> Runtime:
    return Runtime.build(Settings(data_dir=server.data_dir, port=server.port))


def _stored_image(server: ShirenServer, tenant: str) -> tuple[Runtime, str, int, bytes]:
    runtime = _runtime_for(server)
    payload = b"\xff\xd8\xff\xe0" + os.urandom(2048)
    with runtime.sessions() as s, s.begin():
        from shiren.storage.repo.tenants import find_tenant

        tenant_id = find_tenant(s, tenant).id
        blob = store_blob(
            runtime, payload, tenant_id=tenant_id, attempt_id=None, kind="face", content_type="image/jpeg"
        )
        s.add(blob)
    return runtime, blob.id, tenant_id, payload


def _audit_count(server: ShirenServer, blob_id: str) -> int:
    with sqlite3.connect(server.data_dir / "shiren.db") as conn:
        return conn.execute(
            "select count(*) from audit_events where object_id=? and action='media.read'", (blob_id,)
        ).fetchone()[0]


def test_blob_is_encrypted_on_disk_and_served_by_signed_link(server: ShirenServer, tenant_a: dict) -> None:
    runtime, blob_id, tenant_id, payload = _stored_image(server, "tenant-a")
    on_disk = next(Path(server.data_dir, "blobs").rglob(blob_id)).read_bytes()
    assert payload[4:64] not in on_disk
    link = media_link(runtime, blob_id, tenant_id)
    assert link.startswith(server.url + "/media/")
    resp = httpx.get(link)
    assert resp.status_code == 200 and resp.content == payload
    assert resp.headers["cache-control"] == "no-store"
    assert _audit_count(server, blob_id) == 1


@pytest.mark.parametrize("tamper", ["signature", "tenant", "expiry"])
def test_tampered_links_are_refused(
    server: ShirenServer, tenant_a: dict, tenant_b: dict, tamper: str
) -> None:
    runtime, blob_id, tenant_id, _ = _stored_image(server, "tenant-a")
    link = media_link(runtime, blob_id, tenant_id)
    if tamper == "signature":
        link = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    elif tamper == "tenant":
        link = link.replace(f"t={tenant_id}", f"t={tenant_id + 1}")
    else:
        expires = int(link.split("e=")[1].split("&")[0])
        link = link.replace(f"e={expires}", f"e={expires + 3600}")
    assert httpx.get(link).status_code == 403
    assert _audit_count(server, blob_id) == 0


def test_links_expire_after_five_minutes(server: ShirenServer, tenant_a: dict) -> None:
    runtime, blob_id, tenant_id, _ = _stored_image(server, "tenant-a")
    old = media_link(runtime, blob_id, tenant_id, now=time.time() - 301)
    assert httpx.get(old).status_code == 403
    fresh = media_link(runtime, blob_id, tenant_id, now=time.time() - 290)
    assert httpx.get(fresh).status_code == 200


def test_master_key_from_environment(tmp_path: Path) -> None:
    import base64

    key = base64.b64encode(b"k" * 32).decode()
    rt = Runtime.build(Settings(data_dir=tmp_path / "d", master_key=key))
    assert not (tmp_path / "d" / "master.key").exists()
    sealed = rt.crypto.encrypt_field("张三", "name:x")
    assert (
        Runtime.build(Settings(data_dir=tmp_path / "e", master_key=key)).crypto.decrypt_field(
            sealed, "name:x"
        )
        == "张三"
    )
