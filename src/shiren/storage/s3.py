"""Blobs in an S3-compatible object store (AWS S3, MinIO, SeaweedFS …), chosen with ``blob_store="s3"``.

Objects are sealed by shiren before they leave the process, exactly as ``LocalBlobStore`` seals its files
(``encrypt_blob(data, blob_id)`` under the verification's media key or the system key): the store only
ever holds ciphertext, and erasing a verification deletes its objects and destroys the key that opened
them. Keys are ``ab/abcdef…`` as on disk. boto3 stays inside this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from shiren.storage.blobs import BlobNotFound, new_blob_id
from shiren.storage.crypto import Cipher, Crypto

if TYPE_CHECKING:
    from shiren.settings import Settings

_MISSING = {"NoSuchKey", "NotFound", "404"}
_NO_BUCKET = {"NoSuchBucket", "NotFound", "404"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def make_s3_client(settings: Settings) -> Any:
    """A boto3 S3 client for the configured endpoint: SigV4, path-style addressing (MinIO and SeaweedFS
    need it), short timeouts and a bounded number of retries, so a dead store fails a request quickly."""
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        region_name=settings.s3_region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=3,
            read_timeout=10,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


def ensure_bucket(client: Any, bucket: str) -> None:
    """Create ``bucket`` unless it exists (for operators and tests; the server never creates one)."""
    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if _code(exc) not in _NO_BUCKET and _status(exc) != 404:
            raise
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if _code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise


def _key(blob_id: str) -> str:
    if len(blob_id) != 32 or not all(c in "0123456789abcdef" for c in blob_id):
        raise BlobNotFound(blob_id)
    return f"{blob_id[:2]}/{blob_id}"


class S3BlobStore:
    """Sealed objects under ``<bucket>/ab/abcdef…``; a put is one PUT (atomic in S3)."""

    def __init__(self, client: Any, bucket: str, crypto: Crypto) -> None:
        self._client = client
        self._bucket = bucket
        self._crypto = crypto

    def put(self, data: bytes, cipher: Cipher | None = None) -> str:
        blob_id = new_blob_id()
        self._client.put_object(
            Bucket=self._bucket,
            Key=_key(blob_id),
            Body=(cipher or self._crypto).encrypt_blob(data, blob_id),
            ContentType="application/octet-stream",
        )
        return blob_id

    def get(self, blob_id: str, cipher: Cipher | None = None) -> bytes:
        try:
            sealed = self._client.get_object(Bucket=self._bucket, Key=_key(blob_id))["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING or _status(exc) == 404:
                raise BlobNotFound(blob_id) from exc
            raise
        return (cipher or self._crypto).decrypt_blob(sealed, blob_id)

    def delete(self, blob_id: str) -> None:
        """Idempotent: S3 answers a DELETE of a missing key with 204 as well."""
        try:
            self._client.delete_object(Bucket=self._bucket, Key=_key(blob_id))
        except ClientError as exc:
            if _code(exc) not in _MISSING and _status(exc) != 404:
                raise
