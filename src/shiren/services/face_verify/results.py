"""DescribeFaceVerify and DeleteFaceVerifyResult: read and erase one face-verify verification by its
CertifyId, only the caller's own (another tenant's CertifyId is unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiren.domain.faceverify import AUTHORITY_DOWN, sub_code
from shiren.domain.review import HELD
from shiren.runtime import Runtime
from shiren.services.errors import DecisionFailed, Expired, NotFinished, NotFound, NotSubmitted
from shiren.services.retention import erase_attempt
from shiren.storage.models import Attempt, Scene, Task, utcnow
from shiren.storage.repo.device import upload_kinds
from shiren.storage.repo.tasks import attempt_by_token


@dataclass(frozen=True)
class FaceResult:
    """A decided face-verify verification: the attempt (for its material and identity) and its verdict."""

    attempt: Attempt
    passed: bool
    sub_code: str


def _own_attempt(runtime: Runtime, tenant_id: int, certify_id: str, scene_id: int | None) -> Attempt:
    """The caller's face-verify attempt of that CertifyId (and of that SceneId, when given)."""
    with runtime.sessions() as session:
        attempt = attempt_by_token(session, certify_id) if len(certify_id) == 32 else None
        scene = None
        if attempt is not None:
            task = session.get(Task, attempt.task_id)
            scene = session.get(Scene, task.scene_id) if task is not None else None
        if attempt is not None:
            session.expunge(attempt)
    unknown = NotFound("no verification of this account has this CertifyId", field="CertifyId")
    if attempt is None or scene is None or attempt.tenant_id != tenant_id or attempt.scheme is None:
        raise unknown
    if scene_id is not None and scene.scene_id != scene_id:
        raise unknown
    return attempt


def describe_face_verify(
    runtime: Runtime, tenant_id: int, certify_id: str, scene_id: int | None = None
) -> FaceResult:
    """The verdict; NotSubmitted while nothing was uploaded, NotFinished while a submission is decided,
    Expired once the data was deleted, and DecisionFailed for a verdict the authority could not give."""
    attempt = _own_attempt(runtime, tenant_id, certify_id, scene_id)
    if attempt.state == "erased":
        raise Expired("this verification's data was deleted")
    if attempt.review_state == HELD:
        raise NotFinished("the verification is being reviewed by a person")
    if attempt.state != "decided":
        with runtime.sessions() as session:
            uploads = upload_kinds(session, attempt.id)
        deciding = attempt.deciding_until is not None and attempt.deciding_until > utcnow()
        if deciding or "video" in uploads:
            raise NotFinished("the verification is not finished yet")
        raise NotSubmitted("nothing was submitted for this verification yet")
    if attempt.verify_status == AUTHORITY_DOWN:
        raise DecisionFailed("the identity authority did not answer; start a new verification")
    if attempt.described_at is None:
        with runtime.sessions() as session, session.begin():
            stored = session.get(Attempt, attempt.id)
            if stored is not None and stored.described_at is None:
                stored.described_at = utcnow()
    checks: list[dict[str, Any]] = (attempt.evidence or {}).get("checks", [])
    status = int(attempt.verify_status)
    return FaceResult(attempt, status == 1, sub_code(status, checks))


@dataclass(frozen=True)
class Deletion:
    deleted: bool
    fail_reason: str | None = None  # NOT_DELETE_REPEATEDLY | NEED_QUERY_VERIFY_RESULT


def delete_face_verify_result(
    runtime: Runtime,
    tenant_id: int,
    certify_id: str,
    *,
    after_query: bool,
    remote: str | None = None,
) -> Deletion:
    """Erase the verification's name, number, phone, IP, images, video and device data now (its keys are
    destroyed, a tombstone stays). ``after_query``: only once its result was read."""
    attempt = _own_attempt(runtime, tenant_id, certify_id, None)
    if attempt.state == "erased":
        return Deletion(False, "NOT_DELETE_REPEATEDLY")
    if after_query and attempt.described_at is None:
        return Deletion(False, "NEED_QUERY_VERIFY_RESULT")
    erased = erase_attempt(
        runtime, attempt.id, reason="request", actor="DeleteFaceVerifyResult", remote=remote
    )
    return Deletion(True) if erased.erased else Deletion(False, "NOT_DELETE_REPEATEDLY")
