"""Retention and erasure (``shiren.services.retention``) in-process, on a real SQLite runtime with fake
models: verdicts are stored through the real decision core, then erased; nothing personal may be readable
afterwards by any path, including a copy of the blob files taken before the erasure."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, update

from shiren.authority import Authorities
from shiren.domain.decision import DEFAULT_THRESHOLDS
from shiren.domain.idnumber import random_id_number
from shiren.domain.schemes import SCHEMES
from shiren.engine.idcard import IdCardReading
from shiren.runtime import Runtime
from shiren.services.decision import (
    DecisionInputs,
    DecisionModels,
    NewAttempt,
    PendingAttempt,
    evaluate,
    record,
)
from shiren.services.errors import Expired, Invalid, NotFound
from shiren.services.media import LinkRejected, media_link, open_media
from shiren.services.retention import (
    erase_attempt,
    erase_media,
    erase_verification,
    plan_retention,
    run_retention,
    tombstone_evidence,
    without_blobs,
)
from shiren.services.verification import latest_result
from shiren.storage.crypto import DataKey
from shiren.storage.models import (
    Attempt,
    AuditEvent,
    Blob,
    CallbackOutbox,
    CapturePrint,
    Scene,
    Upload,
    utcnow,
)
from shiren.storage.repo import device as device_repo
from shiren.storage.repo.prints import add_prints
from shiren.storage.repo.scenes import SceneError, create_scene, scene_view, update_scene
from shiren.storage.repo.tasks import (
    DataErased,
    attempt_identity,
    attempt_material,
    media_cipher,
    record_cipher,
    start_attempt,
)
from shiren.storage.repo.tenants import get_or_create_tenant
from shiren.workers.retention import RetentionWorker
from tests.services.fakes import (
    FakeCardReader,
    FakeLivenessJudge,
    capture,
    card_back,
    card_front,
    decoded,
    face_image,
    fake_runtime,
    liveness_report,
)

TODAY = date(2025, 6, 1)
ALICE = 1
NAME = "张三"
NUMBER = random_id_number(random.Random(7), birth=date(1990, 5, 17), sex="男")
VIDEO = b"\x00\x00\x00\x18ftypmp42 fake video"
JPEG_ISH = b"\xff\xd8\xff\xe0 a card photo"
PORTRAIT = b"\xff\xd8\xff\xe0 the printed portrait"
REDIRECT = f"https://app.example.com/done?name={NAME}"
DAY = timedelta(days=1)


def new_scene(runtime: Runtime, biz_type: str, scheme: str = "RPMin", tenant: str = "acme", **kw) -> Scene:
    with runtime.sessions() as session, session.begin():
        t = get_or_create_tenant(session, tenant)
        return create_scene(session, runtime.crypto, t.id, biz_type, scheme, **kw)


def verify_material(runtime: Runtime, scene: Scene, biz_id: str) -> Attempt:
    """An RPMin verdict (a still face and both card sides) stored by the real ``record``."""
    reading = IdCardReading(card_front(NAME, NUMBER, ALICE), card_back())
    deps = DecisionModels(
        runtime.models, Authorities({}), runtime.settings, card_reader=FakeCardReader(reading)
    )
    card = decoded(np.full((540, 856, 3), 180, np.uint8))
    inputs = DecisionInputs(
        scheme=SCHEMES["RPMin"],
        tenant_id=scene.tenant_id,
        authority="none",
        thresholds=dict(DEFAULT_THRESHOLDS),
        name=NAME,
        id_number=NUMBER,
        face=decoded(face_image(ALICE)),
        front=card,
        back=card,
    )
    outcome = evaluate(deps, inputs, TODAY)
    assert outcome.status == 1
    return record(runtime, scene, inputs, outcome, NewAttempt(biz_id, {"UserId": "user-7"}))


def pending(runtime: Runtime, scene: Scene, biz_id: str, *, now: datetime | None = None) -> Attempt:
    with runtime.sessions() as session, session.begin():
        return start_attempt(
            session,
            runtime.crypto,
            scene,
            biz_id,
            ttl=timedelta(minutes=30),
            name=NAME,
            id_number=NUMBER,
            inputs={"UserId": "user-7"},
            callback_seed="seed-1",
            now=now,
        )


def add_upload(
    runtime: Runtime, attempt: Attempt, kind: str, data: bytes, portrait: bytes | None = None
) -> Upload:
    """What the device protocol stores: the upload, and for a card front its reading and portrait."""
    media = media_cipher(runtime.crypto, attempt)
    blob_id = runtime.blobs.put(data, media)
    portrait_id = runtime.blobs.put(portrait, media) if portrait is not None else None
    with runtime.sessions() as session, session.begin():
        row = Upload(
            attempt_id=attempt.id,
            tenant_id=attempt.tenant_id,
            kind=kind,
            blob_id=blob_id,
            fingerprint=runtime.crypto.blind_index(kind + str(attempt.id), "capture"),
            content_type="video/mp4" if kind == "video" else "image/jpeg",
            size=len(data),
            created_at=utcnow(),
        )
        device_repo.replace_upload(session, row)
        if portrait_id is not None:
            reading = {"name": NAME, "number": NUMBER}
            device_repo.set_upload_reading(
                session, record_cipher(runtime.crypto, attempt), row.id, reading, portrait_id
            )
        session.expunge(row)
    return row


def device_verdict(runtime: Runtime, scene: Scene, biz_id: str) -> Attempt:
    """A device attempt decided by the real ``record``: its video upload becomes its material, the card
    front upload (with a reading and its portrait) stays an upload."""
    attempt = pending(runtime, scene, biz_id)
    video = add_upload(runtime, attempt, "video", VIDEO)
    add_upload(runtime, attempt, "id_front", JPEG_ISH, portrait=PORTRAIT)
    deps = DecisionModels(
        runtime.models,
        Authorities({}),
        runtime.settings,
        liveness_judge=FakeLivenessJudge(liveness_report(ALICE)),
    )
    inputs = DecisionInputs(
        scheme=SCHEMES["FDBioOnly"],
        tenant_id=scene.tenant_id,
        authority="none",
        thresholds=dict(DEFAULT_THRESHOLDS),
        capture=capture(),
    )
    outcome = evaluate(deps, inputs, TODAY)
    assert outcome.status == 1
    target = PendingAttempt(attempt, {"video": video}, {"actions": ["blink"]}, {"success": REDIRECT})
    return record(runtime, scene, inputs, outcome, target)


def stored(runtime: Runtime, attempt_id: int) -> Attempt:
    with runtime.sessions() as session:
        row = session.get(Attempt, attempt_id)
        assert row is not None
        return row


def files_of(runtime: Runtime, attempt_id: int) -> list[str]:
    with runtime.sessions() as session:
        ids = set(session.scalars(select(Blob.id).where(Blob.attempt_id == attempt_id)))
        for blob_id, portrait in session.execute(
            select(Upload.blob_id, Upload.reading_blob_id).where(Upload.attempt_id == attempt_id)
        ):
            ids.update(b for b in (blob_id, portrait) if b)
    return sorted(ids)


def blob_path(runtime: Runtime, blob_id: str) -> Path:
    return runtime.settings.data_dir / "blobs" / blob_id[:2] / blob_id


def back_up(runtime: Runtime, blob_ids: list[str], folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {b: Path(shutil.copy(blob_path(runtime, b), folder / b)) for b in blob_ids}


def open_link(runtime: Runtime, link: str) -> bytes:
    parts = urlsplit(link)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    blob_id = parts.path.rsplit("/", 1)[1]
    return open_media(runtime, blob_id, q["t"], q["e"], q["s"], "127.0.0.1").data


def assert_unreadable(runtime: Runtime, backup: dict[str, Path]) -> None:
    """No key the runtime still holds opens a copy of a blob taken before the erasure: not the system key,
    not any master key used as a data key (the verification's own key existed only wrapped in its row)."""
    keyring = runtime.crypto.keyring
    candidates = [runtime.crypto, *(DataKey(keyring.key(kid)) for kid in keyring.ids)]
    for blob_id, path in backup.items():
        sealed = path.read_bytes()
        for cipher in candidates:
            with pytest.raises(InvalidTag):
                cipher.decrypt_blob(sealed, blob_id)


def audit_rows(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- erasing one verification ------------------------------------------------------------------------------


def test_an_erased_verification_cannot_be_read_back_by_any_path(runtime: Runtime, tmp_path: Path) -> None:
    scene = new_scene(runtime, "Kiosk", "FDBioOnly")
    attempt = device_verdict(runtime, scene, "order-1")
    before = stored(runtime, attempt.id)
    blob_ids = files_of(runtime, attempt.id)
    assert len(blob_ids) == 5  # face crop, whole frame, video, card front and its printed portrait
    material = attempt_material(runtime.crypto, before)
    link = media_link(runtime, material["FaceImageBlob"], attempt.tenant_id)
    assert open_link(runtime, link).startswith(b"\xff\xd8\xff")  # readable before
    media = media_cipher(runtime.crypto, before)
    assert runtime.blobs.get(material["VideoBlobs"][0], media) == VIDEO
    backup = back_up(runtime, blob_ids, tmp_path / "backup")
    sealed_name = before.name_enc
    assert getattr(before, "identity_index", "no such column") is not None
    assert attempt_identity(runtime.crypto, before) == (NAME, NUMBER)

    erasure = erase_attempt(runtime, attempt.id, reason="operator", actor="test")

    assert erasure.erased and erasure.files == 5
    after = stored(runtime, attempt.id)
    # The files and the rows that pointed at them are gone.
    assert not any(blob_path(runtime, b).exists() for b in blob_ids)
    assert files_of(runtime, attempt.id) == []
    # Every personal column and both keys are NULL.
    for column in ("name_enc", "id_number_enc", "inputs_enc", "material_enc", "callback_seed_enc"):
        assert getattr(after, column) is None, column
    assert after.result_token is None and getattr(after, "identity_index", None) is None
    assert (after.record_key, after.record_kek, after.media_key, after.media_kek) == (None,) * 4
    assert after.state == "erased" and after.erased_at is not None and after.media_erased_at is not None
    # No path reads them back: the link, the key accessors, the result.
    with pytest.raises(LinkRejected):
        open_link(runtime, link)
    with pytest.raises(DataErased):
        media_cipher(runtime.crypto, after)
    with pytest.raises(DataErased):
        attempt_identity(runtime.crypto, after)
    with pytest.raises(Expired):
        latest_result(runtime, scene, "order-1")
    # A backup of the blob store (and of the old name's ciphertext) taken before opens with nothing left.
    assert_unreadable(runtime, backup)
    keyring = runtime.crypto.keyring
    for cipher in (runtime.crypto, *(DataKey(keyring.key(kid)) for kid in keyring.ids)):
        with pytest.raises(InvalidTag):
            cipher.decrypt_field(sealed_name, f"name:{before.verify_token}")


def test_the_tombstone_keeps_the_verdict_and_no_personal_data(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Kiosk", "FDBioOnly")
    attempt = device_verdict(runtime, scene, "order-1")
    before = stored(runtime, attempt.id)
    assert REDIRECT in json.dumps(before.evidence, ensure_ascii=False)

    erase_attempt(runtime, attempt.id, reason="operator", actor="test")

    after = stored(runtime, attempt.id)
    assert after.verify_status == before.verify_status == 1
    assert (after.authority_score, after.idcard_face_score, after.face_score) == (
        before.authority_score,
        before.idcard_face_score,
        before.face_score,
    )
    assert after.created_at == before.created_at and after.decided_at == before.decided_at
    evidence = after.evidence or {}
    assert set(evidence) == {"checks", "models"}
    assert evidence["models"] == before.evidence["models"]
    assert [c["name"] for c in evidence["checks"]] == [c["name"] for c in before.evidence["checks"]]
    assert all(set(c) <= {"name", "passed", "score", "threshold"} for c in evidence["checks"])
    text = json.dumps(evidence, ensure_ascii=False)
    assert NAME not in text and "https://" not in text and "asked" not in text


def test_erasing_media_keeps_the_verdict_and_the_identity(runtime: Runtime, tmp_path: Path) -> None:
    scene = new_scene(runtime, "Shop")
    attempt = verify_material(runtime, scene, "m-1")
    blob_ids = files_of(runtime, attempt.id)
    assert len(blob_ids) == 4  # face crop, whole photo, card front, card back
    material = attempt_material(runtime.crypto, stored(runtime, attempt.id))
    link = media_link(runtime, material["IdCardInfo"]["FrontImageBlob"], attempt.tenant_id)
    backup = back_up(runtime, blob_ids, tmp_path / "backup")

    erasure = erase_media(runtime, attempt.id, reason="retention", actor="test")

    assert erasure.erased and erasure.files == 4
    after = stored(runtime, attempt.id)
    assert after.state == "decided" and after.erased_at is None and after.media_erased_at is not None
    assert after.media_key is None and after.media_kek is None and after.record_key is not None
    assert not any(blob_path(runtime, b).exists() for b in blob_ids)
    with pytest.raises(LinkRejected):
        open_link(runtime, link)
    with pytest.raises(DataErased):
        media_cipher(runtime.crypto, after)
    assert_unreadable(runtime, backup)
    # The personal fields stay until their own retention; the material lost only its images.
    assert attempt_identity(runtime.crypto, after) == (NAME, NUMBER)
    kept = attempt_material(runtime.crypto, after)
    assert kept["IdCardNumber"] == NUMBER and kept["IdCardInfo"]["Number"] == NUMBER
    assert without_blobs(kept)[1] == set() and "FaceImageBlob" not in kept
    result = latest_result(runtime, scene, "m-1")
    assert result is not None and result.verify_status == 1


def test_erasure_is_idempotent_and_audited_once(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Shop")
    attempt = verify_material(runtime, scene, "m-1")

    assert erase_media(runtime, attempt.id, reason="operator", actor="alice").erased
    assert not erase_media(runtime, attempt.id, reason="operator", actor="alice").erased
    first = erase_attempt(runtime, attempt.id, reason="operator", actor="bob", remote="10.0.0.9")
    again = erase_attempt(runtime, attempt.id, reason="operator", actor="bob")
    assert first.erased and first.files == 0  # the media had gone already
    assert not again.erased
    assert not erase_media(runtime, attempt.id, reason="retention", actor="x").erased

    (media_event,) = audit_rows(runtime, "retention.erase_media")
    (event,) = audit_rows(runtime, "retention.erase")
    assert media_event.object_id == event.object_id == str(attempt.id)
    assert media_event.detail == {"reason": "operator", "actor": "alice", "files": 4}
    assert event.detail == {"reason": "operator", "actor": "bob", "files": 0, "media": False}
    assert event.tenant_id == attempt.tenant_id and event.remote == "10.0.0.9"


def test_an_unknown_reason_is_refused(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Shop")
    attempt = verify_material(runtime, scene, "m-1")
    with pytest.raises(Invalid):
        erase_attempt(runtime, attempt.id, reason="because", actor="test")
    assert stored(runtime, attempt.id).state == "decided"


def test_erase_verification_takes_every_attempt_of_the_biz_id_of_the_callers_scene(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Shop")
    other_tenant_scene = new_scene(runtime, "Shop", tenant="other")
    first, second = verify_material(runtime, scene, "m-1"), verify_material(runtime, scene, "m-1")
    kept = verify_material(runtime, scene, "m-2")
    theirs = verify_material(runtime, other_tenant_scene, "m-1")
    new_scene(runtime, "OnlyAcme")

    with pytest.raises(NotFound):
        erase_verification(runtime, other_tenant_scene.tenant_id, "OnlyAcme", "m-1", actor="test")
    assert erase_verification(runtime, scene.tenant_id, "Shop", "m-1", actor="test") == 2
    assert erase_verification(runtime, scene.tenant_id, "Shop", "m-1", actor="test") == 0
    assert erase_verification(runtime, scene.tenant_id, "Shop", "never-seen", actor="test") == 0
    assert stored(runtime, first.id).state == stored(runtime, second.id).state == "erased"
    assert stored(runtime, kept.id).state == stored(runtime, theirs.id).state == "decided"
    with pytest.raises(Expired):
        latest_result(runtime, scene, "m-1")


# --- what is due, and when ---------------------------------------------------------------------------------


def due(runtime: Runtime, now: datetime) -> dict[int, str]:
    return {d.attempt_id: d.kind for d in plan_retention(runtime, now).due}


def test_media_go_after_the_scenes_media_retention_and_everything_after_its_retention(
    runtime: Runtime,
) -> None:
    default = new_scene(runtime, "Default")  # media: the default 7 days, the rest 30
    brief = new_scene(runtime, "Brief", media_retention_days=1)
    short = new_scene(runtime, "Short", retention_days=3)  # media never outlive the record
    long = new_scene(runtime, "Long", retention_days=180, media_retention_days=90)
    a, b, c, d = (verify_material(runtime, s, f"{s.biz_type}-1") for s in (default, brief, short, long))
    t0 = utcnow()

    assert due(runtime, t0 + timedelta(hours=12)) == {}
    assert due(runtime, t0 + 2 * DAY) == {b.id: "media"}
    assert due(runtime, t0 + 4 * DAY) == {b.id: "media", c.id: "record"}
    assert due(runtime, t0 + 8 * DAY) == {a.id: "media", b.id: "media", c.id: "record"}
    assert due(runtime, t0 + 31 * DAY) == {a.id: "record", b.id: "record", c.id: "record"}
    assert due(runtime, t0 + 91 * DAY)[d.id] == "media"
    assert due(runtime, t0 + 181 * DAY)[d.id] == "record"


def test_a_dry_run_names_what_is_due_and_erases_nothing(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Shop")
    attempts = [verify_material(runtime, scene, f"m-{i}") for i in range(3)]
    files = {a.id: files_of(runtime, a.id) for a in attempts}
    later = utcnow() + 8 * DAY

    report = run_retention(runtime, later, dry_run=True)

    assert report.dry_run and report.total == 0 and not report.more
    assert report.counts() == {"record": 0, "abandoned": 0, "media": 3}
    listed = report.as_dict()["Attempts"]
    assert [(x["AttemptId"], x["BizId"], x["BizType"], x["Tenant"]) for x in listed] == [
        (a.id, f"m-{i}", "Shop", "acme") for i, a in enumerate(attempts)
    ]
    for a in attempts:
        row = stored(runtime, a.id)
        assert row.media_key is not None and row.media_erased_at is None
        assert files_of(runtime, a.id) == files[a.id]
        assert all(blob_path(runtime, b).exists() for b in files[a.id])
    assert audit_rows(runtime, "retention.erase_media") == []

    done = run_retention(runtime, later)
    assert done.erased == {"record": 0, "abandoned": 0, "media": 3} and done.files == 12
    assert due(runtime, later) == {}
    assert [e.detail["reason"] for e in audit_rows(runtime, "retention.erase_media")] == ["retention"] * 3


def test_abandoned_attempts_lose_their_uploads_when_the_token_expires(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Kiosk", "RPBasic")
    t0 = utcnow()
    abandoned = pending(runtime, scene, "gone", now=t0)
    add_upload(runtime, abandoned, "id_front", JPEG_ISH, portrait=PORTRAIT)
    add_upload(runtime, abandoned, "video", VIDEO)
    blob_ids = files_of(runtime, abandoned.id)
    untouched = pending(runtime, scene, "no-uploads", now=t0)
    deciding = pending(runtime, scene, "deciding", now=t0)
    add_upload(runtime, deciding, "video", VIDEO + b"!")
    with runtime.sessions() as session, session.begin():
        lease = t0 + timedelta(minutes=40)
        session.execute(update(Attempt).where(Attempt.id == deciding.id).values(deciding_until=lease))

    assert due(runtime, t0 + timedelta(minutes=10)) == {}  # the tokens still run
    assert due(runtime, t0 + timedelta(minutes=31)) == {abandoned.id: "abandoned"}
    assert due(runtime, t0 + timedelta(minutes=41)) == {abandoned.id: "abandoned", deciding.id: "abandoned"}

    report = run_retention(runtime, t0 + timedelta(minutes=31))

    assert report.erased["abandoned"] == 1 and report.files == 3
    after = stored(runtime, abandoned.id)
    assert after.state == "erased" and after.verify_status == -1 and after.name_enc is None
    assert after.media_key is None and after.record_key is None
    assert not any(blob_path(runtime, b).exists() for b in blob_ids)
    assert files_of(runtime, abandoned.id) == []
    with pytest.raises(Expired):
        latest_result(runtime, scene, "gone")
    assert stored(runtime, untouched.id).state == "pending"  # nothing captured: kept for its retention
    assert stored(runtime, deciding.id).state == "pending"
    (event,) = audit_rows(runtime, "retention.erase")
    assert event.detail["reason"] == "abandoned" and event.detail["actor"] == "retention"
    # ...and the token's record goes at the scene's retention like any other.
    assert due(runtime, t0 + 31 * DAY) == {untouched.id: "record", deciding.id: "record"}


def test_abandoned_never_erases_a_verdict(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Kiosk", "FDBioOnly")
    decided = device_verdict(runtime, scene, "done")
    later = utcnow() + timedelta(hours=1)
    assert not erase_attempt(runtime, decided.id, reason="abandoned", actor="test", now=later).erased
    assert stored(runtime, decided.id).state == "decided"


def test_batches_are_bounded_and_a_run_drains_them(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Shop")
    for i in range(5):
        verify_material(runtime, scene, f"m-{i}")
    later = utcnow() + 31 * DAY
    first = plan_retention(runtime, later, batch=2)
    assert len(first.due) == 2 and first.more
    report = run_retention(runtime, later, batch=2)
    assert report.erased["record"] == 5 and not report.more
    assert due(runtime, later) == {}


# --- several processes -------------------------------------------------------------------------------------


def concurrent_runs(runtime: Runtime, n: int) -> None:
    scene = new_scene(runtime, "Shop")
    ids = [verify_material(runtime, scene, f"m-{i}").id for i in range(n)]
    later = utcnow() + 31 * DAY
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(run_retention(runtime, later, batch=7))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.erased["record"] for r in reports) == n
    assert all(r.failed == 0 for r in reports)
    assert sorted(int(e.object_id) for e in audit_rows(runtime, "retention.erase")) == sorted(ids)
    assert all(stored(runtime, i).state == "erased" for i in ids)


def test_two_concurrent_runs_on_sqlite(runtime: Runtime) -> None:
    concurrent_runs(runtime, 20)


def test_two_concurrent_runs_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    rt = fake_runtime(tmp_path / "data", pg_url)
    try:
        concurrent_runs(rt, 20)
    finally:
        rt.close()


# --- the worker --------------------------------------------------------------------------------------------


def test_the_worker_erases_what_is_due(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Shop")
    old, fresh = verify_material(runtime, scene, "old"), verify_material(runtime, scene, "fresh")
    with runtime.sessions() as session, session.begin():
        session.execute(update(Attempt).where(Attempt.id == old.id).values(created_at=utcnow() - 31 * DAY))

    async def main() -> int:
        worker = RetentionWorker(runtime, interval_s=0.05, first_delay_s=0)
        worker.start()
        for _ in range(200):
            if stored(runtime, old.id).state == "erased" and worker.passes >= 2:
                break
            await asyncio.sleep(0.02)
        await worker.stop()
        return worker.passes

    assert asyncio.run(main()) >= 2
    assert stored(runtime, old.id).state == "erased"
    assert stored(runtime, fresh.id).state == "decided"
    (event,) = audit_rows(runtime, "retention.erase")
    assert event.detail["actor"] == "retention-worker"


def test_the_worker_is_off_at_interval_zero(runtime: Runtime) -> None:
    async def main() -> None:
        worker = RetentionWorker(runtime, interval_s=0)
        assert worker.start() is None
        await worker.stop()

    asyncio.run(main())


def test_tombstone_evidence_of_nothing_is_nothing() -> None:
    assert tombstone_evidence(None) is None
    assert tombstone_evidence({"checks": [{"name": "x", "detail": NAME, "data": {"n": NUMBER}}]}) == {
        "checks": [{"name": "x"}],
        "models": {},
    }


def test_scenes_keep_their_media_retention(runtime: Runtime) -> None:
    scene = new_scene(runtime, "Shop", media_retention_days=2)
    assert scene_view(scene)["MediaRetentionDays"] == 2
    assert scene_view(new_scene(runtime, "Default"))["MediaRetentionDays"] is None  # the default
    with runtime.sessions() as session, session.begin():
        changed = update_scene(session, session.merge(scene), media_retention_days=0)
        assert changed.media_retention_days == 0
        with pytest.raises(SceneError) as err:
            update_scene(session, changed, media_retention_days=-1)
        assert err.value.field == "MediaRetentionDays"
    with pytest.raises(SceneError):
        new_scene(runtime, "Bad", retention_days=-3)


def test_erasure_gives_up_an_undelivered_callback_and_forgets_the_content_print(runtime: Runtime) -> None:

    scene = new_scene(runtime, "Hooked", callback_url="https://hooks.example.com/shiren")
    attempt = verify_material(runtime, scene, "m-hook")
    with runtime.sessions() as session, session.begin():
        add_prints(session, attempt.id, attempt.tenant_id, ["token-a", "token-b"], utcnow())
    assert erase_attempt(runtime, attempt.id, reason="operator", actor="alice").erased
    with runtime.sessions() as session:
        (row,) = session.scalars(select(CallbackOutbox).where(CallbackOutbox.attempt_id == attempt.id))
        # Its CallbackSeed is gone: sent now it would be signed with another key, so it is failed, saying why.
        assert row.state == "failed" and row.last_error == "the verification was erased before delivery"
        assert not list(session.scalars(select(CapturePrint).where(CapturePrint.attempt_id == attempt.id)))
