"""The ``registry`` authority: a roster in shiren's own database (staff of an employer, a school's pupils)."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from shiren.authority.base import AuthorityAnswer
from shiren.storage.blobs import BlobNotFound, BlobStore
from shiren.storage.crypto import Crypto
from shiren.storage.repo.registry import identity_by_index, name_enc_by_index, tenant_has_identities

INDEX_SCOPE = "registry.id_number"


class RegistryAuthority:
    name = "registry"

    def __init__(self, sessions: sessionmaker[Session], crypto: Crypto, blobs: BlobStore) -> None:
        self._sessions = sessions
        self._crypto = crypto
        self._blobs = blobs

    def holds_identities(self, tenant_id: int) -> bool:
        """Whether this tenant's roster has at least one identity."""
        with self._sessions() as session:
            return tenant_has_identities(session, tenant_id)

    def known_name(self, tenant_id: int, id_number: str) -> str | None:
        """The name the tenant's roster holds for this (normalised, 18-character) number; None: no record."""
        index = self._crypto.blind_index(id_number, INDEX_SCOPE)
        with self._sessions() as session:
            sealed = name_enc_by_index(session, tenant_id, index)
        return self._crypto.decrypt_field(sealed, f"registry.name:{index}") if sealed is not None else None

    def lookup(self, tenant_id: int, name: str, id_number: str) -> AuthorityAnswer:
        crypto = self._crypto
        index = crypto.blind_index(id_number, INDEX_SCOPE)
        with self._sessions() as session:
            row = identity_by_index(session, tenant_id, index)
        if row is None:
            return AuthorityAnswer(identity_match=False, record_found=False)
        known_name = crypto.decrypt_field(row.name_enc, f"registry.name:{index}")
        if known_name != name:
            return AuthorityAnswer(identity_match=False, record_found=True)
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
        return AuthorityAnswer(True, photo, template, row.template_model, record_found=True)
