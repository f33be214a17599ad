"""The decision core (``shiren.services.decision``) judged in-process on fakes: one row per scheme that
passes and one per VerifyStatus a user can get, asserting the status and the checks that failed (what the
evidence shows), then ``record`` on a real SQLite runtime."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from shiren.authority import Authorities, AuthorityAnswer, AuthorityUnavailable
from shiren.domain.decision import DEFAULT_THRESHOLDS, PRECEDENCE, Check
from shiren.domain.idnumber import random_id_number
from shiren.domain.schemes import SCHEMES
from shiren.engine.idcard import IdCardReading
from shiren.engine.liveness import VideoRejected
from shiren.runtime import Runtime
from shiren.services.decision import (
    DecisionInputs,
    DecisionModels,
    NewAttempt,
    Outcome,
    PendingAttempt,
    evaluate,
    record,
)
from shiren.services.errors import AlreadyDecided
from shiren.settings import Settings
from shiren.storage.models import Attempt, Blob, CallbackOutbox
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tasks import attempt_identity, attempt_material, media_cipher
from shiren.storage.repo.tenants import get_or_create_tenant
from tests.services.fakes import (
    CAPTURE_MS,
    EMBEDDER_ID,
    FLASH,
    NOBODY,
    VERSIONS,
    FakeAuthority,
    FakeCardReader,
    FakeLivenessJudge,
    capture,
    card_back,
    card_front,
    decoded,
    embedding,
    face_image,
    fake_models,
    liveness_report,
    png,
)

TODAY = date(2025, 6, 1)
ALICE, BOB = 1, 2  # whose face an image shows
NAME = "张三"
NUMBER = random_id_number(random.Random(7), birth=date(1990, 5, 17), sex="男")
OTHER_NUMBER = random_id_number(random.Random(8), birth=date(1985, 11, 2), sex="男")
BAD_NUMBER = NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1")  # wrong check character
FRONT_PHOTO = decoded(np.full((540, 856, 3), 180, np.uint8))
BACK_PHOTO = decoded(np.full((540, 856, 3), 170, np.uint8))

CAPTURED = ("capture_fresh", "capture_length", "capture_after_challenge")
LIVENESS = ("liveness_face_visible", "liveness_single_face", "liveness_actions", "liveness_same_face")
LIVE = CAPTURED + LIVENESS
AUTHORITY = ("authority_available", "authority_identity", "authority_photo", "face_vs_authority")
FRONT = ("card_front_genuine", "card_name", "card_number", "face_vs_card_portrait")
BACK = ("card_back_genuine", "card_validity")
CARD = (*FRONT, *BACK, "card_sides_consistent")  # the last one is evidence only (passed=None)

ANSWERS: dict[str, AuthorityAnswer | AuthorityUnavailable] = {
    "template": AuthorityAnswer(True, template=embedding(ALICE), template_model=EMBEDDER_ID),
    "photo": AuthorityAnswer(True, photo=png(face_image(ALICE))),
    "other_face": AuthorityAnswer(True, template=embedding(BOB), template_model=EMBEDDER_ID),
    "no_photo": AuthorityAnswer(True),
    "stale_template": AuthorityAnswer(True, template=embedding(ALICE), template_model="dlib-onnx:old"),
    "down": AuthorityUnavailable("the authority did not answer within 3 s"),
}


@dataclass(frozen=True)
class Card:
    """The card reading the fake reader returns (sides present, what they say)."""

    name: str = NAME
    number: str = NUMBER
    portrait: int = ALICE
    genuine: bool = True
    confidence: dict[str, float] | None = None
    end_date: str = "20400101"
    back: bool = True

    def reading(self) -> IdCardReading:
        front = card_front(
            self.name, self.number, self.portrait, genuine=self.genuine, confidence=self.confidence
        )
        return IdCardReading(front, card_back(self.end_date) if self.back else None)


@dataclass(frozen=True)
class Row:
    scheme: str
    status: int
    failing: tuple[str, ...] = ()  # exactly the checks that failed
    checks: tuple[str, ...] | None = None  # when given, exactly the checks that ran
    authority: str = "none"  # the scene's authority kind
    answer: str = "template"  # what the authority knows of (NAME, NUMBER): a key of ANSWERS
    name: str | None = NAME
    id_number: str | None = NUMBER
    confirmed: frozenset[str] = frozenset()
    still: bool = False  # the live face is a still (VerifyMaterial), not a capture
    person: int = ALICE  # whose face is live
    actions_done: bool = True
    unreadable_video: bool = False
    replayed: bool = False
    duration_ms: float = CAPTURE_MS  # how long the capture is
    uploaded_after_s: float = 6.0  # seconds between the challenge and the upload
    flash: bool = False
    card: Card | None = None
    retained: int | None = None  # whose face the retained photo shows
    unavailable: tuple[Check, ...] = ()
    identity: tuple[str, str] | None = None  # the name and number the outcome says were checked
    details: dict[str, str] = field(default_factory=dict)  # check → words its detail must contain


@dataclass
class Setup:
    deps: DecisionModels
    inputs: DecisionInputs
    authority: FakeAuthority
    judge: FakeLivenessJudge
    reader: FakeCardReader | None


def setup(row: Row, limits: Settings) -> Setup:
    authority = FakeAuthority((NAME, NUMBER), ANSWERS[row.answer])
    judge = FakeLivenessJudge(
        liveness_report(
            row.person, actions_done=row.actions_done, flash=row.flash, duration_ms=row.duration_ms
        ),
        VideoRejected("undecodable", "the video could not be decoded") if row.unreadable_video else None,
    )
    reader = FakeCardReader(row.card.reading()) if row.card is not None else None
    deps = DecisionModels(
        fake_models(), Authorities({"registry": authority}), limits, card_reader=reader, liveness_judge=judge
    )
    live = decoded(face_image(row.person))
    inputs = DecisionInputs(
        scheme=SCHEMES[row.scheme],
        tenant_id=11,
        authority=row.authority,
        thresholds=dict(DEFAULT_THRESHOLDS),
        name=row.name,
        id_number=row.id_number,
        confirmed=row.confirmed,
        face=live if row.still else None,
        capture=None
        if row.still
        else capture(
            replayed=row.replayed,
            flash=FLASH if row.flash else None,
            uploaded_after=timedelta(seconds=row.uploaded_after_s),
        ),
        front=FRONT_PHOTO if row.card is not None else None,
        back=BACK_PHOTO if row.card is not None and row.card.back else None,
        retained=decoded(face_image(row.retained)) if row.retained is not None else None,
        unavailable=list(row.unavailable),
    )
    return Setup(deps, inputs, authority, judge, reader)


def fetch_failed(field_name: str, fails_with: int) -> Check:
    """What device_submit adds when an integrator's image URL cannot be had."""
    return Check(
        f"{field_name}_available", fails_with, False, detail=f"{field_name}: HTTP 404 from the origin"
    )


PASSING = [
    pytest.param(
        Row(
            "RPBasic",
            1,
            checks=(*LIVE, "id_number", *CARD),
            name=None,
            id_number=None,
            card=Card(),
            identity=(NAME, NUMBER),
        ),
        id="RPBasic-identity-read-from-card",
    ),
    pytest.param(
        Row(
            "RPBasic",
            1,
            checks=(*LIVE, "id_number", *CARD),
            confirmed=frozenset({"name", "number"}),
            card=Card(),
            identity=(NAME, NUMBER),
        ),
        id="RPBasic-user-confirmed-fields",
    ),
    pytest.param(
        Row(
            "RPBasic",
            1,
            confirmed=frozenset({"name", "number"}),
            card=Card(name="张珊", confidence={"name": 0.55, "number": 0.99}),
            identity=(NAME, NUMBER),
            details={"card_name": "confirmed by the user"},
        ),
        id="RPBasic-confirmed-low-confidence-name-differs-from-card",
    ),
    pytest.param(
        Row("RPManual", 1, checks=(*LIVE, "id_number", *AUTHORITY), authority="registry"),
        id="RPManual-typed-identity-vs-authority",
    ),
    pytest.param(
        Row("RPBioID", 1, checks=(*LIVE, "id_number", *AUTHORITY, *CARD), authority="registry", card=Card()),
        id="RPBioID-card-and-authority",
    ),
    pytest.param(
        Row("RPBioOnly", 1, checks=(*LIVE, "id_number", *AUTHORITY), authority="registry"),
        id="RPBioOnly-authority-template",
    ),
    pytest.param(
        Row("RPBioOnly", 1, checks=(*LIVE, "id_number", *AUTHORITY), authority="registry", answer="photo"),
        id="RPBioOnly-authority-photo-decoded",
    ),
    pytest.param(
        Row(
            "RPBioOnlyPro",
            1,
            checks=(*LIVE, "liveness_flash_reflection", "id_number", *AUTHORITY),
            authority="registry",
            flash=True,
        ),
        id="RPBioOnlyPro-with-flash",
    ),
    pytest.param(
        Row("RPH5BioOnly", 1, checks=(*LIVE, "id_number", *AUTHORITY), authority="registry"),
        id="RPH5BioOnly",
    ),
    pytest.param(
        Row("RPMin", 1, checks=("id_number", *AUTHORITY), authority="registry", still=True),
        id="RPMin-still-vs-authority",
    ),
    pytest.param(
        Row(
            "RPMin",
            1,
            checks=("id_number", *FRONT),
            still=True,
            card=Card(back=False),
        ),
        id="RPMin-no-authority-card-portrait-is-the-reference",
    ),
    pytest.param(
        Row("FVBioOnly", 1, checks=(*LIVE, "face_vs_retained"), name=None, id_number=None, retained=ALICE),
        id="FVBioOnly-retained-photo",
    ),
    pytest.param(
        Row("FDBioOnly", 1, checks=LIVE, name=None, id_number=None),
        id="FDBioOnly-liveness-only",
    ),
]

FAILING = [
    pytest.param(
        Row("RPBioOnly", 2, ("id_number",), authority="registry", id_number=BAD_NUMBER),
        id="2-malformed-number",
    ),
    pytest.param(
        Row("RPBioOnly", 2, ("authority_identity",), authority="registry", name="王五"),
        id="2-identity-unknown-to-authority",
    ),
    pytest.param(
        Row("RPBioID", 3, ("card_name",), authority="registry", card=Card(name="李四")),
        id="3-card-name-differs",
    ),
    pytest.param(
        Row(
            "RPBasic",
            3,
            ("card_name",),
            confirmed=frozenset({"name", "number"}),
            card=Card(name="张珊"),
        ),
        id="3-RPBasic-confirmed-but-confidently-read-name-differs",
    ),
    pytest.param(
        Row("RPBioID", 4, ("card_number",), authority="registry", card=Card(number=OTHER_NUMBER)),
        id="4-card-number-differs",
    ),
    pytest.param(
        Row("RPBioID", 5, ("card_validity",), authority="registry", card=Card(end_date="20250531")),
        id="5-card-expired",
    ),
    pytest.param(
        Row("RPBioID", 6, ("face_vs_card_portrait",), card=Card(portrait=BOB)), id="6-portrait-mismatch"
    ),
    pytest.param(
        Row(
            "RPBioID",
            6,
            ("face_vs_card_portrait",),
            card=Card(portrait=NOBODY),
            details={"face_vs_card_portrait": "no face in the card portrait"},
        ),
        id="6-no-face-in-card-portrait",
    ),
    pytest.param(
        Row("RPBioOnly", 7, ("face_vs_authority",), authority="registry", answer="other_face"),
        id="7-authority-face-mismatch",
    ),
    pytest.param(
        Row(
            "RPBioID",
            8,
            ("card_front_genuine",),
            checks=(*LIVE, "id_number", *BACK, "card_front_genuine", "card_sides_consistent"),
            card=Card(genuine=False),
        ),
        id="8-front-not-a-genuine-card",
    ),
    pytest.param(
        Row(
            "RPBasic",
            8,
            ("card_front_genuine",),
            checks=(*LIVE, *BACK, "card_front_genuine", "card_sides_consistent"),
            name=None,
            id_number=None,
            card=Card(genuine=False),
        ),
        id="8-RPBasic-no-card-is-not-a-wrong-identity",
    ),
    pytest.param(
        Row("RPBioOnly", 9, ("liveness_actions",), authority="registry", actions_done=False),
        id="9-liveness-actions-failed",
    ),
    pytest.param(
        Row("RPBioOnly", 9, ("capture_fresh",), authority="registry", replayed=True),
        id="9-replayed-capture",
    ),
    pytest.param(
        Row(
            "RPBioOnly",
            9,
            ("capture_length",),
            authority="registry",
            duration_ms=2000,
            details={"capture_length": "shorter than the challenge"},
        ),
        id="9-capture-shorter-than-challenge",
    ),
    pytest.param(
        Row(
            "RPBioOnly",
            9,
            ("capture_after_challenge",),
            authority="registry",
            uploaded_after_s=1.0,
            details={"capture_after_challenge": "too soon"},
        ),
        id="9-uploaded-too-soon-to-be-recorded-for-the-challenge",
    ),
    pytest.param(
        Row("RPBioOnly", 9, ("capture_after_challenge",), authority="registry", uploaded_after_s=700),
        id="9-uploaded-after-the-challenge-expired",
    ),
    pytest.param(
        Row(
            "RPBioOnly",
            9,
            ("capture_readable", "face_vs_authority"),
            checks=("capture_readable", "id_number", *AUTHORITY),
            authority="registry",
            unreadable_video=True,
            details={"capture_readable": "could not be decoded"},
        ),
        id="9-unreadable-video",
    ),
    pytest.param(
        Row("FVBioOnly", 10, ("face_vs_retained",), name=None, id_number=None, retained=BOB),
        id="10-retained-photo-mismatch",
    ),
    pytest.param(
        Row(
            "FVBioOnly",
            10,
            ("face_vs_retained",),
            name=None,
            id_number=None,
            retained=NOBODY,
            details={"face_vs_retained": "no face in the retained photo"},
        ),
        id="10-no-face-in-retained-photo",
    ),
    pytest.param(
        Row("RPBioOnly", 11, ("authority_photo",), authority="registry", answer="no_photo"),
        id="11-authority-has-no-photo",
    ),
    pytest.param(
        Row("RPBioOnly", 11, ("authority_photo",), authority="registry", answer="stale_template"),
        id="11-template-of-another-embedder-and-no-photo",
    ),
    pytest.param(
        Row(
            "RPBioOnly",
            12,
            ("authority_available",),
            checks=(*LIVE, "id_number", "authority_available"),
            authority="registry",
            answer="down",
            details={"authority_available": "did not answer"},
        ),
        id="12-authority-unavailable",
    ),
    pytest.param(
        Row("RPBioID", 9, ("liveness_actions", "card_name"), actions_done=False, card=Card(name="李四")),
        id="precedence-9-liveness-over-3-card-name",
    ),
    pytest.param(
        Row(
            "RPBioID",
            7,
            ("face_vs_authority", "face_vs_card_portrait"),
            authority="registry",
            answer="other_face",
            card=Card(portrait=BOB),
        ),
        id="precedence-7-authority-face-over-6-portrait",
    ),
    pytest.param(
        Row(
            "RPBioOnly",
            8,
            ("IdCardFrontImageUrl_available",),
            authority="registry",
            unavailable=(fetch_failed("IdCardFrontImageUrl", 8),),
        ),
        id="unavailable-card-url-decides-8",
    ),
    pytest.param(
        Row(
            "FVBioOnly",
            10,
            ("FaceRetainedImageUrl_available",),
            checks=(*LIVE, "FaceRetainedImageUrl_available"),
            name=None,
            id_number=None,
            unavailable=(fetch_failed("FaceRetainedImageUrl", 10),),
        ),
        id="unavailable-retained-url-decides-10",
    ),
]


@pytest.fixture
def limits(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def failed(outcome: Outcome) -> set[str]:
    return {c.name for c in outcome.checks if c.passed is False}


@pytest.mark.parametrize("row", PASSING + FAILING)
def test_verdict(row: Row, limits: Settings) -> None:
    s = setup(row, limits)
    outcome = evaluate(s.deps, s.inputs, TODAY)

    assert outcome.status == row.status, [c.as_evidence() for c in outcome.checks if c.passed is False]
    assert failed(outcome) == set(row.failing)
    if row.checks is not None:
        names = [c.name for c in outcome.checks]
        assert sorted(names) == sorted(row.checks)
    # Only evidence-only checks may be without an outcome.
    assert {c.name for c in outcome.checks if c.passed is None} <= {"card_sides_consistent"}
    for check in outcome.checks:
        if check.name.startswith("face_vs_") and check.score is not None:
            assert check.score == (100.0 if check.passed else 0.0), check
    for name, words in row.details.items():
        (check,) = [c for c in outcome.checks if c.name == name]
        assert words in check.detail, check
    if row.identity is not None:
        assert (outcome.name, outcome.id_number) == row.identity
        assert outcome.material["IdCardName"] == row.identity[0]
        assert outcome.material["IdCardNumber"] == row.identity[1]
    if s.inputs.capture is not None:
        assert [c.flash for c in s.judge.calls] == [s.inputs.capture.flash]
        assert s.judge.calls[0].actions == list(s.inputs.capture.actions)
    else:
        assert s.judge.calls == []


def test_every_scheme_has_a_passing_row_and_every_status_a_failing_one() -> None:
    passing = {p.values[0].scheme for p in PASSING}
    assert passing == set(SCHEMES)
    statuses = {p.values[0].status for p in FAILING}
    assert statuses == set(PRECEDENCE)


def test_a_malformed_number_is_not_sent_to_the_authority(limits: Settings) -> None:
    s = setup(Row("RPBioOnly", 2, authority="registry", id_number=BAD_NUMBER), limits)
    outcome = evaluate(s.deps, s.inputs, TODAY)
    assert outcome.status == 2
    (check,) = [c for c in outcome.checks if c.name == "id_number"]
    assert check.detail == "check_character"
    assert s.authority.calls == []


def test_the_authority_is_asked_about_the_identity_being_verified(limits: Settings) -> None:
    s = setup(Row("RPBioOnly", 1, authority="registry"), limits)
    outcome = evaluate(s.deps, s.inputs, TODAY)
    assert outcome.status == 1
    assert s.authority.calls == [(11, NAME, NUMBER)]
    assert outcome.authority_score == 100.0


def test_identity_read_from_the_card_is_what_the_authority_checks(limits: Settings) -> None:
    row = Row("RPBasic", 1, authority="registry", name=None, id_number=None, card=Card())
    s = setup(row, limits)
    outcome = evaluate(s.deps, s.inputs, TODAY)
    assert outcome.status == 1
    assert s.authority.calls == [(11, NAME, NUMBER)]
    assert outcome.material["IdCardInfo"]["Name"] == NAME
    assert outcome.material["IdCardInfo"]["EndDate"] == "20400101"
    assert outcome.idcard_face_score == 100.0


def test_an_already_read_front_is_not_read_again(limits: Settings) -> None:
    row = Row("RPBasic", 1, confirmed=frozenset({"name", "number"}), card=Card())
    s = setup(row, limits)
    assert s.reader is not None
    front_read = s.reader.reading.front
    s.inputs.front_read = front_read
    outcome = evaluate(s.deps, s.inputs, TODAY)
    assert outcome.status == 1
    (call,) = s.reader.calls
    assert call.front is front_read
    assert call.front_bgr is None  # the front photo is not decoded again
    assert call.back_bgr is BACK_PHOTO.bgr


def test_the_card_photos_go_to_the_reader_when_nothing_was_read_yet(limits: Settings) -> None:
    s = setup(Row("RPBioID", 1, card=Card()), limits)
    evaluate(s.deps, s.inputs, TODAY)
    assert s.reader is not None
    (call,) = s.reader.calls
    assert call.front is None
    assert call.front_bgr is FRONT_PHOTO.bgr and call.back_bgr is BACK_PHOTO.bgr


def test_an_unreadable_video_leaves_no_face(limits: Settings) -> None:
    s = setup(Row("FDBioOnly", 9, name=None, id_number=None, unreadable_video=True), limits)
    outcome = evaluate(s.deps, s.inputs, TODAY)
    assert outcome.status == 9
    assert [c.name for c in outcome.checks] == ["capture_readable"]
    assert outcome.face is None and outcome.face_image is None and outcome.liveness is None
    assert outcome.material == {"FaceQuality": "UNQUALIFIED", "FaceMask": False}


def test_the_live_face_comes_from_the_best_frame(limits: Settings) -> None:
    s = setup(Row("FDBioOnly", 1, name=None, id_number=None), limits)
    outcome = evaluate(s.deps, s.inputs, TODAY)
    assert outcome.liveness is s.judge.report
    assert outcome.face_image is not None and outcome.face_image is s.judge.report.best_frame
    assert outcome.face is not None and outcome.material["FaceQuality"] == "LOW"


# --- record ----------------------------------------------------------------------------------------------


def test_record_stores_the_verdict_evidence_and_encrypted_material(tmp_path: Path) -> None:
    master_key = base64.b64encode(bytes(range(32))).decode()
    runtime = Runtime.build(Settings(data_dir=tmp_path, master_key=master_key), models=fake_models())
    try:
        with runtime.sessions() as session, session.begin():
            tenant = get_or_create_tenant(session, "tenant-record")
            scene = create_scene(
                session,
                runtime.crypto,
                tenant.id,
                "RPMinTest",
                "RPMin",
                authority="registry",
                callback_url="https://hooks.example.com/shiren",
            )
        row = Row("RPMin", 1, authority="registry", still=True, card=Card())
        s = setup(row, runtime.settings)
        s.inputs.tenant_id = tenant.id
        outcome = evaluate(s.deps, s.inputs, TODAY)
        assert outcome.status == 1, failed(outcome)

        attempt = record(runtime, scene, s.inputs, outcome, NewAttempt("biz-1", {"UserId": "u-1"}))

        with runtime.sessions() as session:
            stored = session.get(Attempt, attempt.id)
            assert stored is not None
            assert stored.state == "decided" and stored.verify_status == 1
            assert stored.decided_at is not None
            assert stored.authority_score == 100.0 and stored.idcard_face_score == 100.0
            assert attempt_identity(runtime.crypto, stored) == (NAME, NUMBER)
            evidence = stored.evidence or {}
            assert [c["name"] for c in evidence["checks"]] == [c.name for c in outcome.checks]
            assert all(c["passed"] for c in evidence["checks"] if "passed" in c)
            assert evidence["models"] == VERSIONS
            assert evidence["thresholds"] == DEFAULT_THRESHOLDS
            material = attempt_material(runtime.crypto, stored)
            media = media_cipher(runtime.crypto, stored)
            blobs = {b.id: b for b in session.scalars(select(Blob).where(Blob.attempt_id == attempt.id))}
            outbox = session.scalars(select(CallbackOutbox).where(CallbackOutbox.attempt_id == attempt.id))
            assert [o.url for o in outbox] == ["https://hooks.example.com/shiren"]

        assert material["FaceQuality"] == "LOW" and material["FaceMask"] is False
        assert material["IdCardName"] == NAME and material["IdCardNumber"] == NUMBER
        card = material["IdCardInfo"]
        assert card["Number"] == NUMBER
        ids = {
            "face": material["FaceImageBlob"],
            "face_global": material["FaceGlobalBlob"],
            "id_front": card["FrontImageBlob"],
            "id_back": card["BackImageBlob"],
        }
        assert {kind: blobs[i].kind for kind, i in ids.items()} == {k: k for k in ids}
        for kind, blob_id in ids.items():
            data = runtime.blobs.get(blob_id, media)
            assert data.startswith(b"\xff\xd8\xff"), kind  # a JPEG once decrypted
            sealed = (tmp_path / "blobs" / blob_id[:2] / blob_id).read_bytes()
            assert b"JFIF" not in sealed[:64] and not sealed.startswith(b"\xff\xd8"), kind
            assert blobs[blob_id].size == len(data)
        global_face = cv2.imdecode(np.frombuffer(runtime.blobs.get(ids["face_global"], media), np.uint8), 1)
        assert global_face.shape == (400, 400, 3)
        crop = cv2.imdecode(np.frombuffer(runtime.blobs.get(ids["face"], media), np.uint8), 1)
        assert crop.shape[0] < 400 and crop.shape[1] < 400  # the face with a margin, not the whole photo

        files_before = sorted(p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file())
        with pytest.raises(AlreadyDecided):
            record(runtime, scene, s.inputs, outcome, PendingAttempt(attempt, {}))
        files_after = sorted(p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file())
        assert files_after == files_before  # the refused record left no blobs behind
        with runtime.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Blob)) == len(ids)
            again = session.get(Attempt, attempt.id)
            assert again is not None and again.verify_status == 1
    finally:
        runtime.close()
