"""The console's management use cases (scenes, AccessKeys, tenants) and the audit trail's search, on a real
runtime and database: roles, tenant isolation, one audit event per change, secrets shown once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shiren.domain.roles import Actor, Forbidden
from shiren.runtime import Runtime
from shiren.services.console import accounts, manage
from shiren.services.console.audit_search import MAX_LIMIT, search_audit
from shiren.services.errors import Conflict, Invalid, NotFound
from shiren.storage.models import AccessKey, AuditEvent, Tenant
from shiren.storage.repo.tenants import load_access_key


@dataclass(frozen=True)
class People:
    operator: Actor
    admin_a: Actor
    reviewer_a: Actor
    auditor_a: Actor
    admin_b: Actor
    tenant_a: int
    tenant_b: int


def _actor(runtime: Runtime, name: str, role: str, tenant: str | None, remote: str) -> Actor:
    accounts.create_user(runtime, name, role, tenant)
    everyone = Actor(0, "test", "operator", None)
    user = next(u for u in accounts.list_users(runtime, everyone) if u.name == name)
    return Actor(user.id, user.name, user.role, user.tenant_id, remote)


@pytest.fixture
def people(runtime: Runtime) -> People:
    admin_a = _actor(runtime, "alice", "admin", "acme", "10.0.0.1")
    admin_b = _actor(runtime, "bob", "admin", "globex", "10.0.0.2")
    return People(
        operator=_actor(runtime, "olga", "operator", None, "10.0.0.9"),
        admin_a=admin_a,
        reviewer_a=_actor(runtime, "rita", "reviewer", "acme", "10.0.0.3"),
        auditor_a=_actor(runtime, "audrey", "auditor", "acme", "10.0.0.4"),
        admin_b=admin_b,
        tenant_a=admin_a.tenant_id or 0,
        tenant_b=admin_b.tenant_id or 0,
    )


def events(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def all_audit_text(runtime: Runtime) -> str:
    with runtime.sessions() as session:
        rows = session.scalars(select(AuditEvent))
        return "\n".join(f"{e.action} {e.object_id} {json.dumps(e.detail)}" for e in rows)


# Scenes


def test_an_admin_creates_changes_and_disables_a_scene_of_its_tenant(
    runtime: Runtime, people: People
) -> None:
    admin = people.admin_a
    view, secret = manage.create_scene(
        runtime,
        admin,
        None,
        "KycBasic",
        "RPBasic",
        name="KYC",
        callback_url="https://hooks.example.com/cb?token=integrator-token",
        redirect_origins=["https://App.example.com:443/"],
        retention_days=14,
        thresholds={"authority": 85},
        liveness_actions=["blink", "nod"],
        liveness_count=1,
        review_face_from=60,
    )
    assert len(secret) >= 32
    assert view["BizType"] == "KycBasic" and view["TenantId"] == people.tenant_a and view["Tenant"] == "acme"
    assert view["RedirectOrigins"] == ["https://app.example.com"] and view["RetentionDays"] == 14
    assert view["Thresholds"] == {"authority": 85.0} and view["Review"] == {"face_from": 60.0}
    assert view["Liveness"] == {"actions": ["blink", "nod"], "count": 1}
    assert view["MediaRetentionDays"] is None and view["Enabled"] is True
    (created,) = events(runtime, "scene.create")
    assert (created.actor, created.remote, created.tenant_id) == (
        "console:alice",
        "10.0.0.1",
        people.tenant_a,
    )
    assert created.object_id == "KycBasic" and created.detail is not None
    assert created.detail["scheme"] == "RPBasic" and created.detail["settings"]["retention_days"] == 14
    assert created.detail["settings"]["callback_url"] == "https://hooks.example.com"  # origin only

    # A change of some settings keeps the others and records each one's old and new value.
    pk = view["Id"]
    changed = manage.update_scene(
        runtime,
        admin,
        pk,
        retention_days=7,
        media_retention_days=3,
        thresholds={"idcard": 90},
        liveness_timed=False,
        review_face_from=None,
    )
    assert changed["RetentionDays"] == 7 and changed["MediaRetentionDays"] == 3
    assert changed["Thresholds"] == {"idcard": 90.0}  # replaced: authority is the default again
    assert changed["Liveness"] == {"actions": ["blink", "nod"], "count": 1, "timed": False}
    assert changed["Review"] == {} and changed["RedirectOrigins"] == ["https://app.example.com"]
    (updated,) = events(runtime, "scene.update")
    assert (updated.actor, updated.remote) == ("console:alice", "10.0.0.1")
    assert updated.detail is not None
    changes = updated.detail["changes"]
    assert changes["retention_days"] == {"from": 14, "to": 7}
    assert changes["media_retention_days"] == {"from": None, "to": 3}
    assert changes["liveness_timed"] == {"from": True, "to": False}
    assert set(changes) == {
        "retention_days", "media_retention_days", "thresholds", "liveness_timed", "review_face_from"
    }  # fmt: skip

    # Back to the default media retention; a callback URL removed; nothing changed records nothing.
    again = manage.update_scene(runtime, admin, pk, media_retention_days=None, callback_url="")
    assert again["MediaRetentionDays"] is None and again["CallbackUrl"] is None
    manage.update_scene(runtime, admin, pk, retention_days=7, name="KYC")
    assert len(events(runtime, "scene.update")) == 2

    off = manage.update_scene(runtime, admin, pk, enabled=False)
    assert off["Enabled"] is False
    manage.update_scene(runtime, admin, pk, enabled=False)  # already off: no second event
    on = manage.update_scene(runtime, admin, pk, enabled=True)
    assert on["Enabled"] is True
    (disabled,) = events(runtime, "scene.disable")
    (enabled,) = events(runtime, "scene.enable")
    assert disabled.actor == enabled.actor == "console:alice" and disabled.object_id == "KycBasic"

    listed = manage.list_scenes(runtime, admin)
    assert [s["BizType"] for s in listed] == ["KycBasic"]
    assert secret not in all_audit_text(runtime) and "integrator-token" not in all_audit_text(runtime)
    assert "secret" not in json.dumps(listed, default=str).lower()


def test_a_refused_setting_is_invalid_on_its_field_and_changes_nothing(
    runtime: Runtime, people: People
) -> None:
    admin = people.admin_a
    cases = [
        ({"redirect_origins": ["ftp://x"]}, "RedirectOrigins"),
        ({"callback_url": "javascript:alert(1)"}, "CallbackUrl"),
        ({"thresholds": {"authority": 101}}, "Thresholds"),
        ({"liveness_actions": ["dance"]}, "Liveness"),
        ({"review_face_from": 120}, "Review"),
        ({"retention_days": -1}, "RetentionDays"),
        ({"authority": "oracle"}, "Authority"),
        ({"colour": "red"}, "colour"),
    ]
    for settings, field in cases:
        with pytest.raises(Invalid) as refused:
            manage.create_scene(runtime, admin, None, "Bad", "RPBasic", **settings)
        assert refused.value.field == field, settings
    with pytest.raises(Invalid) as refused:
        manage.create_scene(runtime, admin, None, "no spaces", "RPBasic")
    assert refused.value.field == "BizType"
    with pytest.raises(Invalid) as refused:
        manage.create_scene(runtime, admin, None, "Bad", "NoSuchScheme")
    assert refused.value.field == "Solution"
    assert manage.list_scenes(runtime, admin) == [] and events(runtime, "scene.create") == []

    view, _ = manage.create_scene(runtime, admin, None, "Good", "RPBioOnly")
    with pytest.raises(Invalid) as refused:
        manage.create_scene(runtime, admin, None, "Good", "RPBioOnly")
    assert refused.value.field == "BizType"
    with pytest.raises(Invalid) as refused:
        manage.update_scene(runtime, admin, view["Id"], retention_days=3, thresholds={"authority": -5})
    assert refused.value.field == "Thresholds"
    assert manage.get_scene(runtime, admin, view["Id"])["RetentionDays"] == 30  # rolled back as a whole
    assert events(runtime, "scene.update") == []


def test_a_reviewer_or_auditor_may_not_manage(runtime: Runtime, people: People) -> None:
    view, _ = manage.create_scene(runtime, people.admin_a, None, "Kyc", "RPBasic")
    key_id, _ = manage.create_key(runtime, people.admin_a)
    for actor in (people.reviewer_a, people.auditor_a):
        with pytest.raises(Forbidden):
            manage.list_scenes(runtime, actor)
        with pytest.raises(Forbidden):
            manage.create_scene(runtime, actor, None, "Other", "RPBasic")
        with pytest.raises(Forbidden):
            manage.update_scene(runtime, actor, view["Id"], enabled=False)
        with pytest.raises(Forbidden):
            manage.list_keys(runtime, actor)
        with pytest.raises(Forbidden):
            manage.create_key(runtime, actor)
        with pytest.raises(Forbidden):
            manage.disable_key(runtime, actor, key_id)
    with pytest.raises(Forbidden):
        manage.list_tenants(runtime, people.reviewer_a)
    with pytest.raises(Forbidden):
        search_audit(runtime, people.reviewer_a)
    with pytest.raises(Forbidden):
        manage.create_tenant(runtime, people.admin_a, "newco")
    assert manage.get_scene(runtime, people.admin_a, view["Id"])["Enabled"] is True


def test_another_tenants_scene_or_key_is_not_found(runtime: Runtime, people: People) -> None:
    theirs, _ = manage.create_scene(runtime, people.admin_b, None, "Theirs", "RPBasic")
    their_key, _ = manage.create_key(runtime, people.admin_b)
    a = people.admin_a
    with pytest.raises(NotFound):
        manage.get_scene(runtime, a, theirs["Id"])
    with pytest.raises(NotFound):
        manage.update_scene(runtime, a, theirs["Id"], enabled=False)
    with pytest.raises(NotFound):
        manage.update_scene(runtime, a, 999_999, name="x")
    with pytest.raises(NotFound):
        manage.disable_key(runtime, a, their_key)
    with pytest.raises(NotFound):
        manage.disable_key(runtime, a, "LTAInosuchkey")
    with pytest.raises(NotFound):
        manage.list_scenes(runtime, a, people.tenant_b)
    with pytest.raises(NotFound):
        manage.list_keys(runtime, a, people.tenant_b)
    with pytest.raises(NotFound):
        manage.create_scene(runtime, a, people.tenant_b, "Sneaky", "RPBasic")
    with pytest.raises(NotFound):
        manage.create_key(runtime, a, people.tenant_b)
    assert manage.list_scenes(runtime, a) == [] and manage.list_keys(runtime, a) == []
    assert [t.name for t in manage.list_tenants(runtime, a)] == ["acme"]
    assert manage.get_scene(runtime, people.admin_b, theirs["Id"])["Enabled"] is True
    assert [k.enabled for k in manage.list_keys(runtime, people.admin_b)] == [True]


def test_an_operator_sees_every_tenant_and_names_the_one_it_changes(runtime: Runtime, people: People) -> None:
    op = people.operator
    manage.create_scene(runtime, people.admin_a, None, "SceneA", "RPBasic")
    manage.create_scene(runtime, people.admin_b, None, "SceneB", "RPBasic")
    with pytest.raises(Invalid) as refused:
        manage.create_scene(runtime, op, None, "SceneC", "RPBasic")
    assert refused.value.field == "tenant"
    with pytest.raises(NotFound):
        manage.create_scene(runtime, op, 424242, "SceneC", "RPBasic")
    view, _ = manage.create_scene(runtime, op, people.tenant_b, "SceneC", "RPBasic")
    assert view["Tenant"] == "globex"
    assert {(s["Tenant"], s["BizType"]) for s in manage.list_scenes(runtime, op)} == {
        ("acme", "SceneA"), ("globex", "SceneB"), ("globex", "SceneC")
    }  # fmt: skip
    assert [s["BizType"] for s in manage.list_scenes(runtime, op, people.tenant_a)] == ["SceneA"]
    key_a, _ = manage.create_key(runtime, op, people.tenant_a)
    key_b, _ = manage.create_key(runtime, people.admin_b)
    assert {k.id for k in manage.list_keys(runtime, op)} == {key_a, key_b}
    assert [k.id for k in manage.list_keys(runtime, people.admin_a)] == [key_a]
    manage.disable_key(runtime, op, key_b)
    (event,) = events(runtime, "accesskey.disable")
    assert (event.actor, event.remote, event.tenant_id) == ("console:olga", "10.0.0.9", people.tenant_b)
    assert {t.name for t in manage.list_tenants(runtime, op)} == {"acme", "globex"}

    made = manage.create_tenant(runtime, op, "initech")
    assert made.name == "initech" and [e.object_id for e in events(runtime, "tenant.create")] == ["initech"]
    with pytest.raises(Conflict):
        manage.create_tenant(runtime, op, "initech")
    with pytest.raises(Invalid):
        manage.create_tenant(runtime, op, "no spaces")


def test_access_keys_show_their_secret_once_and_a_disabled_one_stays_disabled(
    runtime: Runtime, people: People
) -> None:
    admin = people.admin_a
    key_id, secret = manage.create_key(runtime, admin)
    assert key_id.startswith("LTAI") and len(secret) == 30
    with runtime.sessions() as session:
        material = load_access_key(session, runtime.crypto, key_id)
    assert material is not None and material.secret == secret and material.tenant_id == people.tenant_a
    (listed,) = manage.list_keys(runtime, admin)
    assert listed.id == key_id and listed.enabled and listed.tenant == "acme"
    assert secret not in repr(listed)
    (created,) = events(runtime, "accesskey.create")
    assert (created.object_id, created.actor, created.remote) == (key_id, "console:alice", "10.0.0.1")

    off = manage.disable_key(runtime, admin, key_id)
    assert off.enabled is False and off.disabled_at is not None
    manage.disable_key(runtime, admin, key_id)
    assert len(events(runtime, "accesskey.disable")) == 1
    with runtime.sessions() as session:
        stored = session.get(AccessKey, key_id)
        assert stored is not None and stored.enabled is False
    assert secret not in all_audit_text(runtime)


# The audit trail


def _event(
    runtime: Runtime, action: str, object_id: str, tenant_id: int | None, actor: str, at: datetime
) -> int:
    with runtime.sessions() as session, session.begin():
        event = AuditEvent(action=action, object_id=object_id, tenant_id=tenant_id, actor=actor,
                           remote="192.0.2.7", at=at, detail={"n": object_id})  # fmt: skip
        session.add(event)
        session.flush()
        return event.id


@pytest.fixture
def trail(runtime: Runtime, people: People) -> dict[str, int]:
    """A known trail: events of both tenants and of none, on known days."""
    with runtime.sessions() as session, session.begin():
        session.execute(AuditEvent.__table__.delete())
    day = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    a, b = people.tenant_a, people.tenant_b
    ids = {
        "view": _event(runtime, "case.view", "tok1", a, "console:rita", day),
        "media": _event(runtime, "case.media", "tok1", a, "console:rita", day + timedelta(days=1)),
        "review": _event(runtime, "case.review", "tok2", a, "console:alice", day + timedelta(days=2)),
        "scene": _event(runtime, "scene.update", "KycBasic", a, "console:alice", day + timedelta(days=2)),
        "weird": _event(runtime, "scene_x.odd", "x", a, "cli", day + timedelta(days=3)),
        "pct": _event(runtime, "50%.odd", "y", a, "cli", day + timedelta(days=3)),
        "b_view": _event(runtime, "case.view", "tok9", b, "console:bob", day),
        "op_login": _event(runtime, "console.login", "olga", None, "console:olga", day),
    }
    return ids


def test_the_audit_search_filters_by_action_prefix_actor_object_and_days(
    runtime: Runtime, people: People, trail: dict[str, int]
) -> None:
    auditor = people.auditor_a

    def found(**filters: Any) -> set[str]:
        rows, _ = search_audit(runtime, auditor, **filters)
        names = {v: k for k, v in trail.items()}
        return {names[r.id] for r in rows}

    assert found() == {"view", "media", "review", "scene", "weird", "pct"}
    assert found(action="case.") == {"view", "media", "review"}
    assert found(action="case.view") == {"view"}
    assert found(action="scene.") == {"scene"}  # "." is no wildcard...
    assert found(action="scene_") == {"weird"}  # ... nor is "_" ...
    assert found(action="50%") == {"pct"}  # ... nor "%"
    assert found(action="%") == set()
    assert found(actor_name="rita") == {"view", "media"}
    assert found(actor_name="console:alice") == {"review", "scene"}
    assert found(actor_name="cli") == {"weird", "pct"}
    assert found(object_id="tok1") == {"view", "media"}
    assert found(object_id="tok") == set()  # exactly
    assert found(date_from=date(2025, 3, 11), date_to=date(2025, 3, 12)) == {"media", "review", "scene"}
    assert found(date_to=date(2025, 3, 10)) == {"view"}
    assert found(action="case.", actor_name="alice", date_from=date(2025, 3, 12)) == {"review"}
    with pytest.raises(Invalid):
        search_audit(runtime, auditor, date_from=date(2025, 3, 12), date_to=date(2025, 3, 11))
    with pytest.raises(Invalid):
        search_audit(runtime, auditor, action="x" * 65)
    rows, _ = search_audit(runtime, auditor, object_id="tok1")
    assert (
        rows[0].remote == "192.0.2.7" and rows[0].tenant == "acme" and rows[0].detail_text == '{"n": "tok1"}'
    )


def test_the_audit_search_keeps_each_tenant_to_itself(
    runtime: Runtime, people: People, trail: dict[str, int]
) -> None:
    def ids(actor: Actor, **filters: Any) -> set[int]:
        rows, _ = search_audit(runtime, actor, **filters)
        return {r.id for r in rows}

    mine = {trail[k] for k in ("view", "media", "review", "scene", "weird", "pct")}
    assert ids(people.admin_a) == ids(people.auditor_a) == mine
    assert ids(people.admin_b) == {trail["b_view"]}
    assert ids(people.admin_a, tenant_id=people.tenant_b) == set()  # asking for another tenant: nothing
    assert ids(people.admin_a, object_id="tok9") == set()
    assert ids(people.operator) == set(trail.values())  # events of no tenant too
    assert ids(people.operator, tenant_id=people.tenant_b) == {trail["b_view"]}
    assert ids(people.operator, action="console.login") == {trail["op_login"]}


def test_the_audit_search_pages_by_id_newest_first(
    runtime: Runtime, people: People, trail: dict[str, int]
) -> None:
    seen: list[int] = []
    before = None
    pages = 0
    while True:
        rows, before = search_audit(runtime, people.auditor_a, limit=4, before_id=before)
        pages += 1
        seen += [r.id for r in rows]
        assert len(rows) <= 4
        if before is None:
            break
        assert before == rows[-1].id
    assert pages == 2 and seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 6
    rows, more = search_audit(runtime, people.auditor_a, limit=6)
    assert len(rows) == 6 and more is None  # exactly a page: no empty next page
    for n in range(MAX_LIMIT + 5):
        _event(runtime, "case.view", f"bulk{n}", people.tenant_a, "console:rita", datetime.now(UTC))
    rows, more = search_audit(runtime, people.auditor_a, limit=10_000)
    assert len(rows) == MAX_LIMIT and more == rows[-1].id


def test_management_changes_are_found_in_the_audit_trail(runtime: Runtime, people: People) -> None:
    view, _ = manage.create_scene(runtime, people.admin_a, None, "Trail", "RPBasic")
    manage.update_scene(runtime, people.admin_a, view["Id"], name="Trail scene")
    manage.update_scene(runtime, people.admin_a, view["Id"], enabled=False)
    key_id, _ = manage.create_key(runtime, people.admin_a)
    manage.disable_key(runtime, people.admin_a, key_id)
    rows, _ = search_audit(runtime, people.auditor_a, actor_name="alice")
    actions = [r.action for r in rows]
    assert actions[:5] == [
        "accesskey.disable",
        "accesskey.create",
        "scene.disable",
        "scene.update",
        "scene.create",
    ]
    assert {r.remote for r in rows[:5]} == {"10.0.0.1"}
    rows, _ = search_audit(runtime, people.auditor_a, action="scene.", object_id="Trail")
    assert [r.action for r in rows] == ["scene.disable", "scene.update", "scene.create"]
    # Another tenant's admin finds none of it.
    rows, _ = search_audit(runtime, people.admin_b, action="scene.")
    assert rows == []
    with runtime.sessions() as session:
        assert session.scalar(select(Tenant.id).where(Tenant.name == "acme")) == people.tenant_a
