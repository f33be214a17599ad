"""Retention and erasure (SPEC 7; PIPL arts. 19 and 47): personal data is kept only as long as the scene
says, then erased, and an operator or the integrator can erase one verification at once.

Erasing is destroying keys. Every attempt has two data keys, stored only wrapped in its own row: the media
key (its images and video, the blob files) and the record key (its name, number, inputs, material, callback
seed and card reading). Once a key's wrapped copy is NULL, nothing left anywhere opens what it sealed, so a
backup of the blob store taken before the erasure holds nothing readable; deleting the files and NULLing
the columns only saves space and removes the ciphertext too. (Attempts from before per-verification keys
were sealed with the system key: erasure removes their rows' data and files, but a backup of those still
opens with the master key.)

What stays is a tombstone with no personal data: the VerifyStatus, the scores, the times, and the evidence
reduced to each check's name, outcome, score and threshold and the model versions (details, data, the
challenge and redirect URLs may echo personal data and go).

Each erasure first claims the row with one conditional UPDATE (``… WHERE erased_at IS NULL``), so two
processes erasing the same attempt do not fail: one does it, the other is told it was done. It changes
the database in one transaction and deletes the files after the commit: a crash in between leaves orphan
files, unreadable because their key is gone. Every erasure writes an audit event.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shiren.domain.review import HELD
from shiren.runtime import Runtime
from shiren.services.errors import Invalid, NotFound
from shiren.storage.models import Attempt, Scene, utcnow
from shiren.storage.repo import audit
from shiren.storage.repo import retention as repo
from shiren.storage.repo.prints import delete_prints
from shiren.storage.repo.scenes import get_scene
from shiren.storage.repo.tasks import attempt_material, set_attempt_material

log = logging.getLogger(__name__)

REASONS = ("retention", "operator", "abandoned", "request")  # request: the integrator asked (an API call)
# The order a pass erases in: an attempt past its retention loses everything, so its media need no
# separate step; an abandoned attempt never got a verdict, so nothing of it is worth keeping.
KINDS = ("record", "abandoned", "media")
# The personal columns of an attempt (sealed with its record key), its signed result, and the keyed hash
# of its ID number (pseudonymous, and ID numbers are few enough to be guessed with the index key).
PERSONAL_COLUMNS = (
    "name_enc",
    "id_number_enc",
    "inputs_enc",
    "material_enc",
    "callback_seed_enc",
    "result_token",
    "result_token_expires_at",
    "identity_index",
    "user_index",
)
TOMBSTONE_CHECK_FIELDS = ("name", "passed", "score", "threshold")


@dataclass(frozen=True)
class Erasure:
    """The outcome of one erase call: ``erased`` False when it had been done already (idempotent)."""

    attempt_id: int
    erased: bool
    files: int = 0


# --- erasing one attempt -----------------------------------------------------------------------------------


def _check_reason(reason: str) -> None:
    if reason not in REASONS:
        raise Invalid("reason", f"must be one of {', '.join(REASONS)}")


def _destroy_media_key(attempt: Attempt, now: datetime) -> None:
    attempt.media_key = None
    attempt.media_kek = None
    attempt.media_erased_at = attempt.media_erased_at or now


def _is_blob_key(key: str) -> bool:
    return key.endswith(("Blob", "Blobs"))


def without_blobs(material: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The material without its blob references (at any depth), and the ids it referenced."""
    kept: dict[str, Any] = {}
    ids: set[str] = set()
    for key, value in material.items():
        if _is_blob_key(key):
            ids.update(value if isinstance(value, list) else [value] if isinstance(value, str) else [])
        elif isinstance(value, dict):
            kept[key], inner = without_blobs(value)
            ids |= inner
        else:
            kept[key] = value
    return kept, ids


def tombstone_evidence(evidence: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an erased verification keeps of its evidence: each check's name, outcome, score and threshold,
    and the model versions; details and data (which may quote a name or a URL) go."""
    if not evidence:
        return evidence
    checks = [
        {k: check[k] for k in TOMBSTONE_CHECK_FIELDS if k in check}
        for check in evidence.get("checks") or []
        if isinstance(check, dict)
    ]
    return {"checks": checks, "models": dict(evidence.get("models") or {})}


def _delete_files(runtime: Runtime, attempt_id: int, blob_ids: Iterable[str]) -> int:
    """Delete files after the commit; a failure is only logged: without its key a file is unreadable."""
    deleted = 0
    for blob_id in sorted(blob_ids):
        try:
            runtime.blobs.delete(blob_id)
            deleted += 1
        except Exception:
            log.warning("attempt %d: blob %s not deleted (unreadable: its key is gone)", attempt_id, blob_id)
    return deleted


def erase_media(
    runtime: Runtime,
    attempt_id: int,
    *,
    reason: str,
    actor: str,
    remote: str | None = None,
    now: datetime | None = None,
) -> Erasure:
    """Erase an attempt's images and video: destroy its media key, delete its Blob and Upload rows and
    their files. The verdict, the identity and the rest of the material stay (minus the blob ids)."""
    _check_reason(reason)
    now = now or utcnow()
    with runtime.sessions() as session, session.begin():
        not_yet = (Attempt.media_erased_at.is_(None), Attempt.erased_at.is_(None))
        if not repo.claim_erasure(session, attempt_id, {"media_erased_at": now}, *not_yet):
            return Erasure(attempt_id, False)
        attempt = repo.load_attempt(session, attempt_id)
        blob_ids = repo.drop_media_rows(session, attempt_id)
        if attempt.material_enc is not None:
            material, referenced = without_blobs(attempt_material(runtime.crypto, attempt))
            set_attempt_material(runtime.crypto, attempt, material)
            blob_ids |= referenced
        _destroy_media_key(attempt, now)
        audit.record(
            session,
            "retention.erase_media",
            str(attempt_id),
            tenant_id=attempt.tenant_id,
            remote=remote,
            detail={"reason": reason, "actor": actor, "files": len(blob_ids)},
        )
    return Erasure(attempt_id, True, _delete_files(runtime, attempt_id, blob_ids))


def erase_attempt(
    runtime: Runtime,
    attempt_id: int,
    *,
    reason: str,
    actor: str,
    remote: str | None = None,
    now: datetime | None = None,
) -> Erasure:
    """Erase everything personal of an attempt (its media as ``erase_media`` does, its personal columns,
    its record key) and keep the tombstone. ``reason="abandoned"`` erases it only while it is still
    pending with an expired token."""
    _check_reason(reason)
    now = now or utcnow()
    guard = repo.abandoned(now) if reason == "abandoned" else ()
    with runtime.sessions() as session, session.begin():
        claimed = repo.claim_erasure(
            session, attempt_id, {"erased_at": now, "state": "erased"}, Attempt.erased_at.is_(None), *guard
        )
        if not claimed:
            return Erasure(attempt_id, False)
        attempt = repo.load_attempt(session, attempt_id)
        media_too = attempt.media_erased_at is None
        blob_ids = repo.drop_media_rows(session, attempt_id)
        _destroy_media_key(attempt, now)
        for column in PERSONAL_COLUMNS:
            setattr(attempt, column, None)
        attempt.record_key = None
        attempt.record_kek = None
        attempt.deciding_until = None
        attempt.evidence = tombstone_evidence(attempt.evidence)
        # The capture's content print (keyed, non-reversible tokens) goes with the record: replays of it are
        # refused for as long as the verification's personal data are kept, not longer.
        delete_prints(session, attempt_id)
        repo.drop_review_comments(session, attempt_id)  # sealed with the record key: unreadable already
        # A callback not yet delivered would go out signed with the scene's secret instead of the erased
        # CallbackSeed, which its receiver rejects: it is given up, with the reason.
        repo.give_up_callbacks(session, attempt_id, "the verification was erased before delivery")
        audit.record(
            session,
            "retention.erase",
            str(attempt_id),
            tenant_id=attempt.tenant_id,
            remote=remote,
            detail={"reason": reason, "actor": actor, "files": len(blob_ids), "media": media_too},
        )
    return Erasure(attempt_id, True, _delete_files(runtime, attempt_id, blob_ids))


def erase_verification(
    runtime: Runtime, tenant_id: int, biz_type: str, biz_id: str, *, actor: str, remote: str | None = None
) -> int:
    """Erase every attempt of one BizId of the caller's own scene now; returns how many this call erased
    (0 when there were none or all were erased already). Another tenant's BizType is not found; a
    disabled scene's data can still be erased (an erasure request must not depend on the scene's state)."""
    with runtime.sessions() as session:
        scene = get_scene(session, tenant_id, biz_type)
        if scene is None:
            raise NotFound(f"no scene named {biz_type!r} in this account.", field="BizType")
        ids = repo.attempts_of_biz_id(session, scene.id, biz_id)
    done = [erase_attempt(runtime, i, reason="operator", actor=actor, remote=remote) for i in ids]
    return sum(1 for e in done if e.erased)


# --- what is due -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """One attempt a pass erases: ``kind`` is "record" (past the scene's retention: everything),
    "abandoned" (token expired with uploads, never decided: everything) or "media" (images and video)."""

    kind: str
    attempt_id: int
    tenant: str
    biz_type: str
    biz_id: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "Kind": self.kind,
            "AttemptId": self.attempt_id,
            "Tenant": self.tenant,
            "BizType": self.biz_type,
            "BizId": self.biz_id,
            "CreatedAt": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class _SceneInfo:
    tenant: str
    biz_type: str
    record_days: int
    media_days: int


@dataclass(frozen=True)
class Plan:
    """What is due at ``now``, at most ``batch`` per kind, oldest first; ``more``: a kind had more."""

    now: datetime
    due: list[Due]
    more: bool


def media_days(scene: Scene, default_days: int) -> int:
    """How long a scene keeps images and video: its own setting or the default, never longer than its
    personal fields."""
    days = scene.media_retention_days if scene.media_retention_days is not None else default_days
    return min(days, scene.retention_days)


def _scenes(session: Session, default_days: int) -> dict[int, _SceneInfo]:
    rows = repo.scenes_with_tenants(session)
    return {
        scene.id: _SceneInfo(tenant, scene.biz_type, scene.retention_days, media_days(scene, default_days))
        for scene, tenant in rows
    }


Window = repo.Window


def _windows(scenes: dict[int, _SceneInfo], kind: str) -> dict[Window, list[int]]:
    """Scene ids grouped by their retention window: one bounded query per distinct window. Media are due
    between their period and the record's (older ones go with the whole record, not twice)."""
    groups: dict[Window, list[int]] = {}
    for scene_id, info in scenes.items():
        window = (None, info.record_days) if kind == "record" else (info.record_days, info.media_days)
        if window[0] != window[1]:
            groups.setdefault(window, []).append(scene_id)
    return groups


def plan_retention(runtime: Runtime, now: datetime | None = None, *, batch: int | None = None) -> Plan:
    """What is due at ``now`` (default: the present), at most ``batch`` attempts of each kind."""
    now = now or utcnow()
    batch = batch or runtime.settings.retention_batch
    with runtime.sessions() as session:
        scenes = _scenes(session, runtime.settings.default_media_retention_days)
        record, more_record = repo.due_in(
            session, _windows(scenes, "record"), now, batch, Attempt.erased_at.is_(None)
        )
        abandoned, more_abandoned = repo.abandoned_rows(session, now, batch)
        media, more_media = repo.due_in(
            session,
            _windows(scenes, "media"),
            now,
            batch,
            Attempt.media_erased_at.is_(None),
            Attempt.erased_at.is_(None),
            Attempt.state == "decided",
            # A held verdict keeps its images until a reviewer decides (they are what the reviewer sees);
            # its record retention still applies.
            Attempt.review_state.is_distinct_from(HELD),
        )
    due: list[Due] = []
    seen: set[int] = set()
    for kind, rows in (("record", record), ("abandoned", abandoned), ("media", media)):
        for row in rows:
            if row.id in seen:  # erasing the record erases the media too
                continue
            seen.add(row.id)
            info = scenes[row.scene_id]
            due.append(Due(kind, row.id, info.tenant, info.biz_type, row.biz_id, row.created_at))
    return Plan(now, due, more_record or more_abandoned or more_media)


# --- running it --------------------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    """What a run erased (or, dry, would erase): counts per kind and the attempts themselves."""

    at: datetime
    dry_run: bool
    due: list[Due] = field(default_factory=list)
    erased: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    files: int = 0
    failed: int = 0
    more: bool = False

    @property
    def total(self) -> int:
        return sum(self.erased.values())

    def counts(self) -> dict[str, int]:
        """Attempts due per kind (what a dry run would erase)."""
        counts = dict.fromkeys(KINDS, 0)
        for item in self.due:
            counts[item.kind] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "At": self.at.isoformat(),
            "DryRun": self.dry_run,
            "Due": self.counts(),
            "Erased": dict(self.erased),
            "Files": self.files,
            "Failed": self.failed,
            "More": self.more,
            "Attempts": [d.as_dict() for d in self.due],
        }


def _erase_due(runtime: Runtime, item: Due, now: datetime, actor: str) -> Erasure:
    if item.kind == "media":
        return erase_media(runtime, item.attempt_id, reason="retention", actor=actor, now=now)
    reason = "abandoned" if item.kind == "abandoned" else "retention"
    return erase_attempt(runtime, item.attempt_id, reason=reason, actor=actor, now=now)


def retention_pass(
    runtime: Runtime,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    batch: int | None = None,
    actor: str = "retention",
) -> RetentionReport:
    """One bounded pass: plan, then (unless ``dry_run``) erase each attempt in its own transaction. An
    attempt another process erased meanwhile is skipped; one that fails is logged and left for the next
    pass."""
    plan = plan_retention(runtime, now, batch=batch)
    report = RetentionReport(plan.now, dry_run, list(plan.due), more=plan.more)
    if dry_run:
        return report
    # In random order: processes running the same pass then rarely wait on each other's row (PostgreSQL
    # holds a claimed row until its transaction ends); each still erases only what it claims.
    for item in random.sample(plan.due, len(plan.due)):
        try:
            outcome = _erase_due(runtime, item, plan.now, actor)
        except Exception:
            report.failed += 1
            log.exception("retention: erasing attempt %d (%s) failed", item.attempt_id, item.kind)
            continue
        if outcome.erased:
            report.erased[item.kind] += 1
            report.files += outcome.files
    return report


def run_retention(
    runtime: Runtime,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    batch: int | None = None,
    actor: str = "retention",
) -> RetentionReport:
    """Erase everything due at ``now``, pass after pass until nothing is left (a dry run: one pass, which
    names what the first erasing pass would take). Stops early when a pass erased nothing (failures, or
    other processes took it all), so it always ends."""
    report = step = retention_pass(runtime, now, dry_run=dry_run, batch=batch, actor=actor)
    while step.more and step.total and not dry_run:
        step = retention_pass(runtime, report.at, batch=batch, actor=actor)
        report.due += step.due
        for kind, n in step.erased.items():
            report.erased[kind] += n
        report.files += step.files
        report.failed += step.failed
        report.more = step.more
    return report
