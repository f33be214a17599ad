"""Console users and their sign-in: argon2id passwords, one-time passwords, sessions with idle timeout.

A new user gets a one-time password, printed once by ``shiren user create`` or the console; the first
sign-in must set a new one. Failed sign-ins are counted from the audit trail (so every replica sees the
same count, without Redis): past ``console_login_max_failures`` per account, or four times that per
address, within the window, further tries are refused before the password is even checked.

The session cookie holds a random token; only its SHA-256 is stored, with the session's CSRF token, so a
database dump opens no session. A session ends after ``console_idle_timeout_s`` without use, and
``console_session_max_s`` after sign-in whatever the use.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shiren.domain.roles import OPERATOR, ROLES, TENANT_ROLES, Actor, Permission
from shiren.runtime import Runtime
from shiren.services.errors import Conflict, Invalid, NotFound, Throttled, Unauthenticated
from shiren.storage.models import AuditEvent, ConsoleSession, ConsoleUser, Tenant, utcnow
from shiren.storage.repo import audit
from shiren.storage.repo.tenants import get_or_create_tenant

NAME_RE = re.compile(r"^[A-Za-z0-9_.@\-]{2,64}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256
LOGIN_FAILED = "console.login_failed"
TOUCH_EVERY = timedelta(seconds=30)  # a session's last use is written at most this often

_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended profile (64 MiB, 3 passes)
# Checked when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class NewUser:
    name: str
    role: str
    tenant: str | None
    one_time_password: str  # shown once


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    role: str
    tenant_id: int | None
    tenant: str | None
    enabled: bool
    must_change_password: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class SignedIn:
    """A started session: the cookie's token (never stored) and the actor."""

    token: str
    actor: Actor
    csrf: str
    must_change_password: bool


@dataclass(frozen=True)
class OpenSession:
    """The session a request's cookie opens."""

    session_id: str
    actor: Actor
    csrf: str
    must_change_password: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid("password", f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid("password", f"at most {MAX_PASSWORD} characters")
    if name.lower() in password.lower():
        raise Invalid("password", "must not contain the user name")


def _tenant_of(session: Session, role: str, tenant: str | None, *, create: bool = False) -> Tenant | None:
    """The user's tenant; ``create``: made when missing (the CLI, as ``scene create`` does)."""
    if role not in ROLES:
        raise Invalid("role", f"one of {', '.join(ROLES)}")
    if role == OPERATOR:
        if tenant:
            raise Invalid("tenant", "an operator belongs to no tenant (it sees all of them)")
        return None
    if not tenant:
        raise Invalid("tenant", f"a {role} belongs to one tenant")
    found = session.scalar(select(Tenant).where(Tenant.name == tenant))
    if found is None and create:
        found = get_or_create_tenant(session, tenant)
    if found is None:
        raise NotFound(f"no tenant {tenant}", field="tenant")
    return found


def _view(user: ConsoleUser, tenant: str | None) -> UserView:
    return UserView(
        user.id,
        user.name,
        user.role,
        user.tenant_id,
        tenant,
        user.enabled,
        user.must_change_password,
        user.created_at,
        user.last_login_at,
    )


def create_user(
    runtime: Runtime, name: str, role: str, tenant: str | None, *, by: Actor | None = None
) -> NewUser:
    """A new user with a one-time password. ``by``: the console user creating it (None: the CLI); an admin
    creates users of its own tenant only, and never operators."""
    if not NAME_RE.match(name or ""):
        raise Invalid("name", "2-64 letters, digits or _ . @ -")
    password = secrets.token_urlsafe(12)
    with runtime.sessions() as session, session.begin():
        found = _tenant_of(session, role, tenant, create=by is None)
        tenant_id = found.id if found else None
        if by is not None:
            by.require(Permission.MANAGE)
            if role == OPERATOR and not by.can(Permission.ALL_TENANTS):
                raise Invalid("role", "only an operator creates operators")
            if tenant_id is not None and not by.sees_tenant(tenant_id):
                raise NotFound(f"no tenant {tenant}", field="tenant")
        if session.scalar(select(ConsoleUser.id).where(ConsoleUser.name == name)) is not None:
            raise Conflict(f"a console user {name} exists already")
        user = ConsoleUser(
            name=name,
            role=role,
            tenant_id=tenant_id,
            password_hash=_hasher.hash(password),
            must_change_password=True,
        )
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"a console user {name} exists already") from None
        audit.record(
            session,
            "user.create",
            name,
            tenant_id=tenant_id,
            remote=by.remote if by else None,
            actor=by.label if by else "cli",
            detail={"role": role},
        )
    return NewUser(name, role, tenant, password)


def _recent_failures(session: Session, name: str, remote: str | None, window_s: int) -> tuple[int, int]:
    since = utcnow() - timedelta(seconds=window_s)
    count = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == LOGIN_FAILED)
    by_name = session.scalar(count.where(AuditEvent.object_id == name[:64], AuditEvent.at >= since)) or 0
    by_remote = 0
    if remote:
        by_remote = session.scalar(count.where(AuditEvent.remote == remote, AuditEvent.at >= since)) or 0
    return int(by_name), int(by_remote)


def _failed(runtime: Runtime, name: str, remote: str | None, why: str, tenant_id: int | None) -> None:
    with runtime.sessions() as session, session.begin():
        audit.record(
            session, LOGIN_FAILED, name[:64], tenant_id=tenant_id, remote=remote, actor="console",
            detail={"why": why},
        )  # fmt: skip


def sign_in(runtime: Runtime, name: str, password: str, remote: str | None) -> SignedIn:
    """A new session for the right password; Unauthenticated (one message for every cause) or Throttled."""
    settings = runtime.settings
    name = (name or "").strip()
    with runtime.sessions() as session:
        by_name, by_remote = _recent_failures(session, name, remote, settings.console_login_window_s)
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name)) if name else None
    limit = settings.console_login_max_failures
    if by_name >= limit or by_remote >= 4 * limit:
        _failed(runtime, name, remote, "throttled", user.tenant_id if user else None)
        raise Throttled("too many failed sign-ins; wait a few minutes and try again")
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
        ok = user is not None and user.enabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        why = "unknown user" if user is None else ("disabled" if not user.enabled else "wrong password")
        _failed(runtime, name, remote, why, user.tenant_id if user else None)
        raise Unauthenticated("wrong name or password")
    token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), utcnow()
    with runtime.sessions() as session, session.begin():
        stored = session.get(ConsoleUser, user.id)
        assert stored is not None
        if _hasher.check_needs_rehash(stored.password_hash):
            stored.password_hash = _hasher.hash(password)
        stored.last_login_at = now
        session.add(
            ConsoleSession(
                id=_digest(token),
                user_id=user.id,
                csrf=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(seconds=settings.console_session_max_s),
                remote=remote,
            )
        )
        audit.record(
            session, "console.login", name, tenant_id=user.tenant_id, remote=remote, actor=f"console:{name}"
        )
    actor = Actor(user.id, user.name, user.role, user.tenant_id, remote)
    return SignedIn(token, actor, csrf, user.must_change_password)


def open_session(runtime: Runtime, token: str | None, remote: str | None) -> OpenSession:
    """The session of a cookie's token, touched; Unauthenticated when missing, idle too long or over."""
    if not token or len(token) > 128:
        raise Unauthenticated("sign in")
    now = utcnow()
    idle = timedelta(seconds=runtime.settings.console_idle_timeout_s)
    ended = False
    with runtime.sessions() as session, session.begin():
        row = session.get(ConsoleSession, _digest(token))
        user = session.get(ConsoleUser, row.user_id) if row is not None else None
        if row is None or user is None:
            raise Unauthenticated("sign in")
        if not user.enabled or row.expires_at <= now or row.last_seen_at + idle <= now:
            session.delete(row)  # committed below: an ended session cannot come back
            ended = True
        else:
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at = now
            actor = Actor(user.id, user.name, user.role, user.tenant_id, remote)
            opened = OpenSession(row.id, actor, row.csrf, user.must_change_password)
    if ended:
        raise Unauthenticated("your session has ended; sign in again", expired=True)
    return opened


def sign_out(runtime: Runtime, opened: OpenSession) -> None:
    with runtime.sessions() as session, session.begin():
        session.execute(delete(ConsoleSession).where(ConsoleSession.id == opened.session_id))
        audit.record(
            session, "console.logout", opened.actor.name, tenant_id=opened.actor.tenant_id,
            remote=opened.actor.remote, actor=opened.actor.label,
        )  # fmt: skip


def change_password(runtime: Runtime, opened: OpenSession, current: str, new: str) -> None:
    """The user's own new password; their other sessions end."""
    actor = opened.actor
    _check_password(actor.name, new or "")
    if new == current:
        raise Invalid("password", "choose a password other than the current one")
    with runtime.sessions() as session, session.begin():
        user = session.get(ConsoleUser, actor.user_id)
        if user is None:
            raise Unauthenticated("sign in")
        try:
            _hasher.verify(user.password_hash, current or "")
        except (VerificationError, InvalidHashError):
            raise Invalid("current_password", "is not your current password") from None
        user.password_hash = _hasher.hash(new)
        user.must_change_password = False
        session.execute(
            delete(ConsoleSession).where(
                ConsoleSession.user_id == user.id, ConsoleSession.id != opened.session_id
            )
        )
        audit.record(
            session, "user.password", actor.name, tenant_id=actor.tenant_id, remote=actor.remote,
            actor=actor.label,
        )  # fmt: skip


def list_users(runtime: Runtime, actor: Actor) -> list[UserView]:
    actor.require(Permission.MANAGE)
    query = select(ConsoleUser, Tenant.name).outerjoin(Tenant, Tenant.id == ConsoleUser.tenant_id)
    if not actor.can(Permission.ALL_TENANTS):
        query = query.where(ConsoleUser.tenant_id == actor.tenant_id)
    with runtime.sessions() as session:
        return [_view(u, t) for u, t in session.execute(query.order_by(ConsoleUser.name).limit(1000))]


def update_user(
    runtime: Runtime, actor: Actor, user_id: int, *, enabled: bool | None = None, role: str | None = None
) -> UserView:
    """Disable or enable a user, or change a tenant user's role (within the tenant roles)."""
    actor.require(Permission.MANAGE)
    with runtime.sessions() as session, session.begin():
        user = session.get(ConsoleUser, user_id)
        if user is None or not actor.sees_tenant(user.tenant_id):
            raise NotFound("no such console user")
        if user.id == actor.user_id:
            raise Conflict("you cannot change your own account here")
        changes: dict[str, object] = {}
        if role is not None and role != user.role:
            if user.role == OPERATOR or role not in TENANT_ROLES:
                raise Invalid("role", f"one of {', '.join(TENANT_ROLES)} for a tenant's user")
            user.role = changes.setdefault("role", role)  # type: ignore[assignment]
        if enabled is not None and enabled != user.enabled:
            user.enabled = bool(changes.setdefault("enabled", enabled))
            if not enabled:
                session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        if changes:
            audit.record(
                session, "user.update", user.name, tenant_id=user.tenant_id, remote=actor.remote,
                actor=actor.label, detail=changes,
            )  # fmt: skip
        tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
        return _view(user, tenant.name if tenant else None)


def reset_password(runtime: Runtime, actor: Actor | None, name: str) -> NewUser:
    """A new one-time password for a user (``actor`` None: the CLI); their sessions end."""
    password = secrets.token_urlsafe(12)
    with runtime.sessions() as session, session.begin():
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
        if user is None or (actor is not None and not actor.sees_tenant(user.tenant_id)):
            raise NotFound(f"no console user {name}")
        if actor is not None:
            actor.require(Permission.MANAGE)
        user.password_hash = _hasher.hash(password)
        user.must_change_password = True
        session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        tenant = session.get(Tenant, user.tenant_id) if user.tenant_id else None
        audit.record(
            session, "user.reset_password", user.name, tenant_id=user.tenant_id,
            remote=actor.remote if actor else None, actor=actor.label if actor else "cli",
        )  # fmt: skip
        return NewUser(user.name, user.role, tenant.name if tenant else None, password)


def purge_sessions(runtime: Runtime) -> int:
    """Delete sessions past their absolute end (idle ones are deleted when next seen)."""
    with runtime.sessions() as session, session.begin():
        done = session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= utcnow()))
        return int(done.rowcount or 0)  # type: ignore[attr-defined]
