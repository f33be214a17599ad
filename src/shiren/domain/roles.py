"""Who may do what in the operator console.

Four roles. An operator runs the installation and sees every tenant; the three others belong to one
tenant: an admin runs it (scenes, keys, users, overrides, the audit trail), a reviewer looks at cases and
decides the held ones, an auditor sees statistics, the audit trail and records with names and numbers
masked, never an image. Every console service checks the actor's permission and tenant itself, so a page
that forgets to hide a button still cannot be used to do what it offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    RECORDS = "records"  # search records (masked), see statistics
    PERSONAL_DATA = "personal_data"  # names, numbers, device details in clear (audited)
    IMAGES = "images"  # images and video of a case (audited)
    EXPORT = "export"  # the filtered records as CSV (audited)
    REVIEW = "review"  # decide held cases
    OVERRIDE = "override"  # change a decided verdict (audited)
    RESEND = "resend"  # send a callback again
    AUDIT = "audit"  # search the audit trail
    MANAGE = "manage"  # scenes, access keys, console users
    ALL_TENANTS = "all_tenants"


OPERATOR = "operator"
ADMIN = "admin"
REVIEWER = "reviewer"
AUDITOR = "auditor"

ROLES: dict[str, frozenset[Permission]] = {
    OPERATOR: frozenset(Permission),
    ADMIN: frozenset(Permission) - {Permission.ALL_TENANTS},
    REVIEWER: frozenset(
        {
            Permission.RECORDS,
            Permission.PERSONAL_DATA,
            Permission.IMAGES,
            Permission.REVIEW,
            Permission.RESEND,
        }
    ),
    AUDITOR: frozenset({Permission.RECORDS, Permission.AUDIT}),
}
# The roles that belong to one tenant (an operator belongs to none).
TENANT_ROLES = (ADMIN, REVIEWER, AUDITOR)


class Forbidden(PermissionError):
    """The actor may not do this (or the object belongs to a tenant they cannot see). Part of the
    services' error tree (``services.errors``) with the same ``message``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Actor:
    """A signed-in console user, as every console service receives them."""

    user_id: int
    name: str
    role: str
    tenant_id: int | None  # None: an operator
    remote: str | None = None

    @property
    def label(self) -> str:
        """How the audit trail names them."""
        return f"console:{self.name}"

    def can(self, permission: Permission) -> bool:
        return permission in ROLES.get(self.role, frozenset())

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"the {self.role} role may not do this ({permission.value})")

    def sees_tenant(self, tenant_id: int | None) -> bool:
        return self.can(Permission.ALL_TENANTS) or (tenant_id is not None and tenant_id == self.tenant_id)

    def require_tenant(self, tenant_id: int | None) -> None:
        """Another tenant's object is refused exactly like a missing one would be, by the caller."""
        if not self.sees_tenant(tenant_id):
            raise Forbidden("this belongs to another tenant")
