"""Tenants and their AccessKeys."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiren.storage.crypto import Crypto
from shiren.storage.models import AccessKey, Tenant, utcnow

_ALNUM = string.ascii_letters + string.digits


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


@dataclass(frozen=True)
class KeyMaterial:
    """An AccessKey as the signature check needs it."""

    access_key_id: str
    secret: str
    tenant_id: int
    tenant: str
    enabled: bool


def get_or_create_tenant(session: Session, name: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(name=name)
        session.add(tenant)
        session.flush()
    return tenant


def find_tenant(session: Session, name: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.name == name))


def create_access_key(session: Session, crypto: Crypto, tenant_name: str) -> KeyMaterial:
    tenant = get_or_create_tenant(session, tenant_name)
    key_id = "LTAI" + _random(20)
    secret = _random(30)
    session.add(
        AccessKey(id=key_id, tenant_id=tenant.id, secret_enc=crypto.encrypt_field(secret, f"ak:{key_id}"))
    )
    session.flush()
    return KeyMaterial(key_id, secret, tenant.id, tenant.name, True)


def load_access_key(session: Session, crypto: Crypto, key_id: str) -> KeyMaterial | None:
    row = session.execute(
        select(AccessKey, Tenant.name)
        .join(Tenant, Tenant.id == AccessKey.tenant_id)
        .where(AccessKey.id == key_id)
    ).first()
    if row is None:
        return None
    key, tenant_name = row
    secret = crypto.decrypt_field(key.secret_enc, f"ak:{key.id}")
    assert secret is not None
    return KeyMaterial(key.id, secret, key.tenant_id, tenant_name, key.enabled)


def list_access_keys(session: Session, tenant_name: str | None = None) -> list[dict[str, object]]:
    query = (
        select(AccessKey, Tenant.name)
        .join(Tenant, Tenant.id == AccessKey.tenant_id)
        .order_by(AccessKey.created_at)
    )
    if tenant_name:
        query = query.where(Tenant.name == tenant_name)
    return [
        {
            "AccessKeyId": key.id,
            "Tenant": name,
            "Enabled": key.enabled,
            "CreatedAt": key.created_at.isoformat(timespec="seconds"),
        }
        for key, name in session.execute(query)
    ]


def disable_access_key(session: Session, key_id: str) -> bool:
    """Disable a key; returns False when there is no such key. Idempotent."""
    key = session.get(AccessKey, key_id)
    if key is None:
        return False
    if key.enabled:
        key.enabled = False
        key.disabled_at = utcnow()
    return True


def import_access_key(
    session: Session, crypto: Crypto, tenant_name: str, key_id: str, secret: str
) -> KeyMaterial:
    """Register an existing AccessKey pair (e.g. one an integrator already configured for Alibaba Cloud)."""
    if session.get(AccessKey, key_id) is not None:
        raise ValueError(f"AccessKey {key_id} already exists")
    tenant = get_or_create_tenant(session, tenant_name)
    session.add(
        AccessKey(id=key_id, tenant_id=tenant.id, secret_enc=crypto.encrypt_field(secret, f"ak:{key_id}"))
    )
    session.flush()
    return KeyMaterial(key_id, secret, tenant.id, tenant.name, True)
