"""The ``registry`` authority: a roster in shiren's own database (staff of an employer, a school's pupils)."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from shiren.authority.base import AuthorityAnswer
from shiren.storage.blobs import BlobNotFound, BlobStore
from shiren.storage.crypto import Crypto
from shiren.storage.repo.registry import identity_by_index

INDEX_SCOPE = "registry.id_number"


class RegistryAuthority:
    name = "registry"

    def __init__(self, sessions: sessionmaker[Session], crypto: Crypto, blobs: BlobStore) -> None:
        self._sessions = sessions
        self._crypto = crypto
        self._blobs = blobs

    def lookup(self, tenant_id: int, name: str, id_number: str) -> AuthorityAnswer:
        crypto = self._crypto
        index = crypto.blind_index(id_number, INDEX_SCOPE)
        with self._sessions() as session:
            row = identity_by_index(session, tenant_id, index)
        if row is None:
            return AuthorityAnswer(identity_match=False)
        known_name = crypto.decrypt_field(row.name_enc, f"registry.name:{index}")
        if known_name != name:
            return AuthorityAnswer(identity_match=False)
        photo = None
        if row.photo_blob_id:
            try:
                photo = self._blobs.get(row.photo_blob_id)
            except BlobNotFound:
                photo = None
        template = None
        if row.template_enc is not None:
            raw = crypto.decrypt_field(row.template_enc, f"registry.template:{index}")
            template = np.array([float(x) for x in raw.split(",")], dtype=np.float32) if raw else None
        return AuthorityAnswer(True, photo, template, row.template_model)
