"""The process-wide objects every entry point needs: settings, database, crypto, blob store.

The server, the command line and the workers each build one ``Runtime`` from the same settings, so they
all see the same data. Building it applies pending migrations.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shiren.settings import Settings
from shiren.storage import migrate
from shiren.storage.blobs import BlobStore, LocalBlobStore
from shiren.storage.crypto import Crypto, load_master_key
from shiren.storage.db import make_engine, make_sessionmaker


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    crypto: Crypto
    blobs: BlobStore

    @classmethod
    def build(cls, settings: Settings, *, apply_migrations: bool = True) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = make_engine(settings.database_url_resolved)
        if apply_migrations:
            migrate.upgrade(engine)
        crypto = Crypto(load_master_key(settings.master_key, settings.data_dir))
        blobs = LocalBlobStore(settings.data_dir / "blobs", crypto)
        return cls(settings, engine, make_sessionmaker(engine), crypto, blobs)

    def close(self) -> None:
        self.engine.dispose()
