"""The process-wide objects every entry point needs: settings, database, crypto, blob store, models and
identity authorities.

The server, the command line and the workers each build one ``Runtime`` from the same settings, so they
all see the same data. Building it applies pending migrations. Models load on first use (or at once with
``models.warm_up()``); everything below the services receives what it needs from here, nothing reads
settings by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shiren.authority import Authorities, HttpAuthority, RegistryAuthority
from shiren.engine.models import Models
from shiren.settings import Settings
from shiren.storage import migrate
from shiren.storage.blobs import BlobStore, LocalBlobStore
from shiren.storage.crypto import Crypto
from shiren.storage.db import make_engine, make_sessionmaker
from shiren.storage.keyring import Keyring
from shiren.storage.repo.keys import load_system_key


def models_from(settings: Settings) -> Models:
    """The model bundle the settings name (converted weights are cached in the data dir)."""
    return Models(
        detector=settings.face_detector,
        embedder=settings.face_embedder,
        ocr=settings.ocr,
        cache_dir=settings.data_dir / "models",
    )


def blob_store_from(settings: Settings, crypto: Crypto) -> BlobStore:
    """The blob store the settings name: files under data_dir/blobs, or an S3-compatible bucket."""
    if settings.blob_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("SHIREN_BLOB_STORE=s3 needs a bucket: set SHIREN_S3_BUCKET")
        from shiren.storage.s3 import S3BlobStore, make_s3_client  # boto3 only when it is used

        return S3BlobStore(make_s3_client(settings), settings.s3_bucket, crypto)
    return LocalBlobStore(settings.data_dir / "blobs", crypto)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    crypto: Crypto
    blobs: BlobStore
    models: Models
    authorities: Authorities
    # Shared limits and nonces across replicas (settings.redis_url); None: per process and the database.
    redis: Redis | None = None

    @classmethod
    def build(
        cls, settings: Settings, *, apply_migrations: bool = True, models: Models | None = None
    ) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = make_engine(settings.database_url_resolved)
        if apply_migrations:
            migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        keyring = Keyring(settings.master_key, settings.previous_master_keys, settings.data_dir)
        crypto = Crypto(load_system_key(sessions, keyring), keyring)
        blobs = blob_store_from(settings, crypto)
        authorities = Authorities(
            {
                "registry": RegistryAuthority(sessions, crypto, blobs),
                "http": HttpAuthority(
                    settings.authority_http_url,
                    token=settings.authority_http_token,
                    timeout_s=settings.authority_http_timeout_s,
                ),
            }
        )
        redis = (
            Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
            if settings.redis_url
            else None
        )
        return cls(
            settings, engine, sessions, crypto, blobs, models or models_from(settings), authorities, redis
        )

    def close(self) -> None:
        self.engine.dispose()
        if self.redis is not None:
            self.redis.close()
