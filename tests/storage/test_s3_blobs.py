"""The BlobStore contract, on the local files and on a real S3 server (SeaweedFS started by the test)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from shiren.runtime import blob_store_from
from shiren.settings import Settings
from shiren.storage.blobs import BlobNotFound, BlobStore, LocalBlobStore
from shiren.storage.crypto import Crypto
from shiren.storage.keyring import Keyring
from shiren.storage.s3 import S3BlobStore
from tests.s3server import SeaweedS3

Raw = Callable[[str], bytes | None]  # the stored bytes of a blob id, None when there is no object


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedS3]:
    s3 = SeaweedS3(bucket="shiren-blobs")
    s3.start()
    yield s3
    s3.stop()


@pytest.fixture
def crypto(tmp_path: Path) -> Crypto:
    return Crypto(secrets.token_bytes(32), Keyring(None, None, tmp_path / "keys"))


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, crypto: Crypto) -> tuple[BlobStore, Raw]:
    if request.param == "local":
        root = tmp_path / "blobs"

        def raw_file(blob_id: str) -> bytes | None:
            path = root / blob_id[:2] / blob_id
            return path.read_bytes() if path.exists() else None

        return LocalBlobStore(root, crypto), raw_file
    seaweed: SeaweedS3 = request.getfixturevalue("seaweed")
    client = seaweed.client()

    def raw_object(blob_id: str) -> bytes | None:
        listed = client.list_objects_v2(Bucket=seaweed.bucket, Prefix=f"{blob_id[:2]}/{blob_id}")
        if not listed.get("KeyCount"):
            return None
        return client.get_object(Bucket=seaweed.bucket, Key=f"{blob_id[:2]}/{blob_id}")["Body"].read()

    return S3BlobStore(client, seaweed.bucket, crypto), raw_object


PLAIN = b"\xff\xd8\xff\xe0 a face image " + os.urandom(4096) + b" the end"


def test_round_trip_with_the_system_key_and_a_verification_key(store, crypto: Crypto) -> None:
    blobs, _ = store
    blob_id = blobs.put(PLAIN)
    assert len(blob_id) == 32 and blobs.get(blob_id) == PLAIN
    key, _, _ = crypto.new_data_key("attempt:1")
    mine = blobs.put(b"", key)  # empty objects too
    assert blobs.get(mine, key) == b""


def test_the_stored_bytes_are_sealed(store, crypto: Crypto) -> None:
    blobs, raw = store
    key, _, _ = crypto.new_data_key("attempt:2")
    blob_id = blobs.put(PLAIN, key)
    stored = raw(blob_id)
    assert stored is not None and stored != PLAIN
    assert PLAIN not in stored and PLAIN[:64] not in stored and PLAIN[-64:] not in stored
    assert key.decrypt_blob(stored, blob_id) == PLAIN  # sealed exactly as the local store seals


def test_another_verifications_key_does_not_open_it(store, crypto: Crypto) -> None:
    blobs, _ = store
    mine, _, _ = crypto.new_data_key("attempt:3")
    theirs, _, _ = crypto.new_data_key("attempt:4")
    blob_id = blobs.put(PLAIN, mine)
    with pytest.raises(InvalidTag):
        blobs.get(blob_id, theirs)
    with pytest.raises(InvalidTag):
        blobs.get(blob_id)  # nor the system key
    assert blobs.get(blob_id, mine) == PLAIN


def test_missing_and_malformed_ids(store) -> None:
    blobs, _ = store
    for blob_id in (secrets.token_hex(16), "../../etc/passwd", "ABCDEF" * 5 + "00", ""):
        with pytest.raises(BlobNotFound):
            blobs.get(blob_id)


def test_delete_is_idempotent_and_the_object_goes(store) -> None:
    blobs, raw = store
    blob_id = blobs.put(PLAIN)
    kept = blobs.put(b"kept")
    assert raw(blob_id) is not None
    blobs.delete(blob_id)
    blobs.delete(blob_id)
    blobs.delete(secrets.token_hex(16))  # never there
    assert raw(blob_id) is None and raw(kept) is not None
    with pytest.raises(BlobNotFound):
        blobs.get(blob_id)
    assert blobs.get(kept) == b"kept"


def test_the_bucket_holds_only_sealed_objects_under_ab_keys(seaweed: SeaweedS3, crypto: Crypto) -> None:
    client = seaweed.client()
    blobs = S3BlobStore(client, seaweed.bucket, crypto)
    ids = {blobs.put(PLAIN) for _ in range(3)}
    keys = {
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=seaweed.bucket)
        for o in page.get("Contents", [])
    }
    assert {f"{i[:2]}/{i}" for i in ids} <= keys
    for key in keys:
        assert PLAIN not in client.get_object(Bucket=seaweed.bucket, Key=key)["Body"].read()
    for blob_id in ids:
        blobs.delete(blob_id)


def test_wrong_credentials_are_refused(seaweed: SeaweedS3, crypto: Crypto, tmp_path: Path) -> None:
    """The server checks signatures: a store with a wrong secret cannot read or write."""
    from botocore.exceptions import ClientError

    settings = seaweed.settings(tmp_path).model_copy(update={"s3_secret_access_key": "wrong"})
    blobs = blob_store_from(settings, crypto)
    with pytest.raises(ClientError) as err:
        blobs.put(b"x")
    assert err.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "AccessDenied")


def test_blob_store_from_settings(seaweed: SeaweedS3, crypto: Crypto, tmp_path: Path) -> None:
    assert isinstance(blob_store_from(Settings(data_dir=tmp_path), crypto), LocalBlobStore)
    s3 = blob_store_from(seaweed.settings(tmp_path), crypto)
    assert isinstance(s3, S3BlobStore) and s3.get(s3.put(b"via settings")) == b"via settings"
    with pytest.raises(ValueError, match="SHIREN_S3_BUCKET"):
        blob_store_from(Settings(data_dir=tmp_path, blob_store="s3"), crypto)
