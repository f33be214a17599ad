"""The ``registry`` authority's roster: identities looked up by a keyed blind index of the ID number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiren.storage.models import RegistryIdentity


def identity_by_index(session: Session, tenant_id: int, index: str) -> RegistryIdentity | None:
    return session.scalar(
        select(RegistryIdentity).where(
            RegistryIdentity.tenant_id == tenant_id, RegistryIdentity.id_number_index == index
        )
    )


def name_enc_by_index(session: Session, tenant_id: int, index: str) -> bytes | None:
    """The sealed name of the tenant's identity with this blind index; None when there is none."""
    return session.scalar(
        select(RegistryIdentity.name_enc).where(
            RegistryIdentity.tenant_id == tenant_id, RegistryIdentity.id_number_index == index
        )
    )


def tenant_has_identities(session: Session, tenant_id: int) -> bool:
    """Whether the tenant's roster holds at least one identity."""
    return (
        session.scalar(select(RegistryIdentity.id).where(RegistryIdentity.tenant_id == tenant_id).limit(1))
        is not None
    )
