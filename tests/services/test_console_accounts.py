"""Console accounts called directly on a real database: one-time passwords, the forced first change,
password rules, throttled sign-in, sessions that end when idle or at their end, and what a database dump
holds (no password, no session token)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from shiren.runtime import Runtime
from shiren.services.console import accounts
from shiren.services.errors import Invalid, NotFound, Throttled, Unauthenticated
from shiren.storage.models import AuditEvent, ConsoleSession, ConsoleUser, utcnow

NEW = "a-long-enough-passphrase-42"


def test_first_sign_in_must_change_the_one_time_password(runtime: Runtime) -> None:
    new = accounts.create_user(runtime, "alice", "admin", "acme")
    assert len(new.one_time_password) >= 16
    signed = accounts.sign_in(runtime, "alice", new.one_time_password, "10.0.0.1")
    assert signed.must_change_password and signed.actor.role == "admin" and signed.actor.tenant_id
    opened = accounts.open_session(runtime, signed.token, "10.0.0.1")
    for bad, why in (("short", "12"), ("alice-is-my-password", "user name")):
        with pytest.raises(Invalid, match=why):
            accounts.change_password(runtime, opened, new.one_time_password, bad)
    with pytest.raises(Invalid, match="current"):
        accounts.change_password(runtime, opened, "not-the-password", NEW)
    accounts.change_password(runtime, opened, new.one_time_password, NEW)
    assert not accounts.open_session(runtime, signed.token, "10.0.0.1").must_change_password
    with pytest.raises(Unauthenticated):
        accounts.sign_in(runtime, "alice", new.one_time_password, "10.0.0.1")
    assert accounts.sign_in(runtime, "alice", NEW, "10.0.0.1").actor.name == "alice"


def test_nothing_in_the_database_opens_an_account_or_a_session(runtime: Runtime) -> None:
    new = accounts.create_user(runtime, "bob", "reviewer", "acme")
    signed = accounts.sign_in(runtime, "bob", new.one_time_password, None)
    with runtime.sessions() as session:
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == "bob"))
        rows = list(session.scalars(select(ConsoleSession)))
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert new.one_time_password not in user.password_hash
    assert [r.id for r in rows] != [signed.token] and all(signed.token not in r.id for r in rows)


def test_sign_in_is_refused_after_repeated_failures(runtime: Runtime) -> None:
    new = accounts.create_user(runtime, "carol", "auditor", "acme")
    limit = runtime.settings.console_login_max_failures
    for _ in range(limit):
        with pytest.raises(Unauthenticated, match="wrong name or password"):
            accounts.sign_in(runtime, "carol", "wrong-password", "10.0.0.7")
    # Even the right password is refused now, before it is checked.
    with pytest.raises(Throttled):
        accounts.sign_in(runtime, "carol", new.one_time_password, "10.0.0.8")
    # An unknown name fails the same way as a wrong password, and is audited too.
    with pytest.raises(Unauthenticated, match="wrong name or password"):
        accounts.sign_in(runtime, "nobody", "whatever-password", "10.0.0.7")
    with runtime.sessions() as session:
        failed = list(session.scalars(select(AuditEvent).where(AuditEvent.action == accounts.LOGIN_FAILED)))
    assert len(failed) == limit + 2
    assert {e.detail["why"] for e in failed} == {"wrong password", "throttled", "unknown user"}
    assert all("wrong-password" not in str(e.detail) for e in failed)


def test_a_session_ends_when_idle_and_cannot_come_back(runtime: Runtime) -> None:
    new = accounts.create_user(runtime, "dave", "reviewer", "acme")
    signed = accounts.sign_in(runtime, "dave", new.one_time_password, None)
    idle = timedelta(seconds=runtime.settings.console_idle_timeout_s + 1)
    with runtime.sessions() as session, session.begin():
        session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - idle))
    with pytest.raises(Unauthenticated) as ended:
        accounts.open_session(runtime, signed.token, None)
    assert ended.value.expired
    with pytest.raises(Unauthenticated) as again:  # deleted, not merely refused once
        accounts.open_session(runtime, signed.token, None)
    assert not again.value.expired
    with runtime.sessions() as session:
        assert session.scalar(select(ConsoleSession.id)) is None


def test_a_session_ends_at_its_end_and_with_a_disabled_user(runtime: Runtime) -> None:
    new = accounts.create_user(runtime, "erin", "reviewer", "acme")
    first = accounts.sign_in(runtime, "erin", new.one_time_password, None)
    second = accounts.sign_in(runtime, "erin", new.one_time_password, None)
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == accounts._digest(first.token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(Unauthenticated):
        accounts.open_session(runtime, first.token, None)
    assert accounts.open_session(runtime, second.token, None).actor.name == "erin"
    admin = accounts.create_user(runtime, "frank", "admin", "acme")
    boss = accounts.sign_in(runtime, "frank", admin.one_time_password, None).actor
    erin = next(u for u in accounts.list_users(runtime, boss) if u.name == "erin")
    accounts.update_user(runtime, boss, erin.id, enabled=False)
    with pytest.raises(Unauthenticated):
        accounts.open_session(runtime, second.token, None)
    with pytest.raises(Unauthenticated):
        accounts.sign_in(runtime, "erin", new.one_time_password, None)


def test_roles_and_tenants_are_checked(runtime: Runtime) -> None:
    with pytest.raises(Invalid, match="role"):
        accounts.create_user(runtime, "gary", "superuser", "acme")
    with pytest.raises(Invalid, match="operator belongs to no tenant"):
        accounts.create_user(runtime, "gary", "operator", "acme")
    with pytest.raises(Invalid, match="belongs to one tenant"):
        accounts.create_user(runtime, "gary", "reviewer", None)
    accounts.create_user(runtime, "hana", "admin", "acme")
    accounts.create_user(runtime, "ivan", "admin", "globex")
    hana = accounts.sign_in(
        runtime, "hana", accounts.reset_password(runtime, None, "hana").one_time_password, None
    )
    # An admin creates users of its own tenant only, and no operator.
    with pytest.raises(NotFound):
        accounts.create_user(runtime, "joe", "reviewer", "globex", by=hana.actor)
    with pytest.raises(Invalid, match="operator"):
        accounts.create_user(runtime, "joe", "operator", None, by=hana.actor)
    assert {u.name for u in accounts.list_users(runtime, hana.actor)} == {"hana"}
