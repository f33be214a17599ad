"""The process-wide objects every entry point needs: settings, database, crypto, blob store, models and
identity authorities.

The server, the command line and the workers each build one ``Runtime`` from the same settings, so they
all see the same data. Building it applies pending migrations. Models load on first use (or at once with
``models.warm_up()``); everything below the services receives what it needs from here, nothing reads
settings by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    crypto: Crypto
    blobs: BlobStore
    models: Models
    authorities: Authorities

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
        blobs = LocalBlobStore(settings.data_dir / "blobs", crypto)
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
        return cls(settings, engine, sessions, crypto, blobs, models or models_from(settings), authorities)

    def close(self) -> None:
        self.engine.dispose()
