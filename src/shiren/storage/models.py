"""Database tables (SQLAlchemy 2). Personal fields are stored encrypted (``*_enc`` columns).

Identity data (names, ID numbers) lives in these rows; biometric data (images, video) lives in the blob
store and is only referenced here by id, which keeps the two apart.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    """An integrator account: owns keys, scenes, registry and tasks."""

    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessKey(Base):
    __tablename__ = "access_keys"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def new_scene_id() -> int:
    """A random numeric SceneId: the face-verify family names scenes by an int64 (10 digits, as Alibaba)."""
    return 1_000_000_000 + secrets.randbelow(9_000_000_000)


class Scene(Base):
    """A BizType: one scheme plus its settings. The RP family names it by BizType, the face-verify family
    by its numeric SceneId; both share its settings."""

    __tablename__ = "scenes"
    __table_args__ = (UniqueConstraint("tenant_id", "biz_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    scene_id: Mapped[int] = mapped_column(BigInteger, unique=True, index=True, default=new_scene_id)
    biz_type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    scheme: Mapped[str] = mapped_column(String(32))
    authority: Mapped[str] = mapped_column(String(16), default="none")
    callback_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    redirect_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    thresholds: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    steps: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    # Liveness challenge settings: {"actions": [pool of actions], "count": n}; empty = defaults.
    liveness: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Human review band (domain/review.py): {"face_from": 60, "card_confidence_below": 0.9}; empty = none.
    review: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)  # personal fields and the result
    media_retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # images, video
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Task(Base):
    """One BizId of one scene; it has one or more attempts."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("scene_id", "biz_id"),
        Index("ix_tasks_tenant_biz", "tenant_id", "biz_id"),  # the console finds a BizId in any scene
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    scene_id: Mapped[int] = mapped_column(ForeignKey("scenes.id"))
    biz_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attempt(Base):
    """One verification attempt, started by DescribeVerifyToken or VerifyMaterial."""

    __tablename__ = "attempts"
    # The console's searches, each bounded by the tenant and read newest first (storage/repo/records.py).
    __table_args__ = (
        # Covering for the statistics (they read only these columns); its prefix orders the records.
        Index(
            "ix_attempts_tenant_created",
            "tenant_id",
            "created_at",
            "id",
            "decided_at",
            "verify_status",
            "review_state",
            "decision_ms",
        ),
        Index("ix_attempts_tenant_status_created", "tenant_id", "verify_status", "created_at"),
        Index("ix_attempts_review", "review_state", "decided_at"),
        Index("ix_attempts_user_index", "user_index", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    verify_token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | decided | erased
    verify_status: Mapped[int] = mapped_column(Integer, default=-1)
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    inputs_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    callback_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    callback_seed_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    authority_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    face_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    idcard_face_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    material_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # While a submit decides, the attempt's inputs are frozen until this time (a lease: a crashed decision
    # does not freeze them for ever).
    deciding_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The scheme this attempt is verified by, when not its scene's: a face-verify ProductCode (ID_PRO …).
    scheme: Mapped[str | None] = mapped_column(String(32), nullable=True)
    liveness_model: Mapped[str | None] = mapped_column(String(32), nullable=True)  # its face-verify Model
    # When the integrator first read the result (DescribeFaceVerify); DeleteAfterQuery=Y waits for it.
    described_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The signed result handed to the device, minted once at the decision (it carries no VerifyToken).
    result_token: Mapped[str | None] = mapped_column(String(512), nullable=True)
    result_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The verification's own data keys, wrapped by a master key (whose id is kept alongside): "record"
    # encrypts its personal fields, "media" its images and video. Erasure destroys them (NULL).
    record_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    record_kek: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    media_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    media_kek: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    media_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Keyed hash of the ID number checked (never the number): failures are limited per identity.
    identity_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # Keyed hash of the integrator's UserId (never the id itself): the console finds a user's attempts.
    user_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # How long the decision itself took (models, authority), for the console's latency statistics.
    decision_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Human review (domain/review.py): "held" while a verdict in the scene's review band waits for a
    # reviewer (verify_status stays -1 meanwhile), "reviewed" once decided by one, "overridden" when an
    # admin changed a decided verdict. ``machine_status`` keeps the verdict the checks gave.
    review_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    machine_status: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SystemKey(Base):
    """A key of the installation itself (the system key), wrapped by a master key."""

    __tablename__ = "system_keys"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(16))


class Blob(Base):
    """Metadata of one encrypted object in the blob store."""

    __tablename__ = "blobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Nonce(Base):
    """Signature nonces seen within the timestamp window (replay protection across processes)."""

    __tablename__ = "nonces"
    access_key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditEvent(Base):
    """Who did or read what, when and from where: reads of personal data, console logins, decisions,
    exports and changes of scenes, keys and users."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_tenant_at", "tenant_id", "at"),
        Index("ix_audit_action_object_at", "action", "object_id", "at"),
        Index("ix_audit_action_remote_at", "action", "remote", "at"),  # failed sign-ins per address
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    tenant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)  # "console:alice", "cli", an API
    remote: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class RegistryIdentity(Base):
    """A reference identity of the ``registry`` authority: imported by the operator, per tenant."""

    __tablename__ = "registry_identities"
    __table_args__ = (UniqueConstraint("tenant_id", "id_number_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    id_number_index: Mapped[str] = mapped_column(String(64))  # blind index: lookup without decrypting
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    photo_blob_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    template_enc: Mapped[bytes | None] = mapped_column(
        LargeBinary, nullable=True
    )  # face embedding, encrypted
    # The embedder's full id (name, weights and runtime versions), e.g. 120 characters for dlib-onnx.
    template_model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Consent(Base):
    """The end user's separate consent to biometric processing (PIPL art. 29), recorded before capture."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    version: Mapped[str] = mapped_column(String(32))  # version of the consent text shown
    text_sha256: Mapped[str] = mapped_column(String(64))  # hash of the exact text shown
    locale: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Challenge(Base):
    """A random liveness challenge issued to one attempt: single use, short-lived."""

    __tablename__ = "challenges"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    actions: Mapped[list[str]] = mapped_column(JSON)
    flash: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # colour sequence (RPBioOnlyPro)
    capture_ms: Mapped[int] = mapped_column(Integer)
    # When each action is prompted (ms after the recording starts); None: an untimed challenge.
    prompt_ms: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Upload(Base):
    """One file uploaded by the device for an attempt (video, card photos); one per kind, idempotent."""

    __tablename__ = "uploads"
    __table_args__ = (UniqueConstraint("attempt_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(16))  # video | id_front | id_back
    blob_id: Mapped[str] = mapped_column(String(32))
    # Keyed hash of the bytes (never a plain hash of biometric data): the same bytes again for this attempt
    # are a retry (idempotent); the same bytes in another attempt are a replay.
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    challenge_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The card front as read for the user's confirm step (encrypted JSON) and its printed portrait (a blob),
    # so the decision uses that reading instead of running the OCR again.
    reading_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    reading_blob_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class CallbackOutbox(Base):
    """A callback to deliver: written in the same transaction as the verdict, so none is ever lost."""

    __tablename__ = "callback_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)  # the same on every retry
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), nullable=True, index=True)
    url: Mapped[str] = mapped_column(String(2048))
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent (no personal data)
    # webhook: a signed POST of ``body`` (shiren's own); alibaba: GET url?callbackToken=…&certifyId=…&passed=…
    # (the face-verify family's shape, the token read from the attempt at sending time).
    style: Mapped[str] = mapped_column(String(16), default="webhook", server_default="webhook")
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|delivered|failed
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class CallbackDelivery(Base):
    """One delivery try of a callback, whatever its outcome."""

    __tablename__ = "callback_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("callback_outbox.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float)


class CapturePrint(Base):
    """One keyed token of a capture's content fingerprint (engine/liveness/replay.py): an HMAC of a band
    of the perceptual hashes of its frames, never the hashes or frames themselves. A later capture sharing
    many tokens with one attempt's capture replays it, whatever the tenant."""

    __tablename__ = "capture_prints"
    __table_args__ = (UniqueConstraint("attempt_id", "token"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewDecision(Base):
    """A person's decision on a verdict: a reviewer deciding a held one, or an admin overriding one."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # review | override
    from_status: Mapped[int] = mapped_column(Integer)
    to_status: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str] = mapped_column(String(32))
    # Free text may name the person: encrypted with the verification's record key (erased with it).
    comment_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleUser(Base):
    """A person who signs in to the operator console. ``tenant_id`` None: an operator of every tenant."""

    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), nullable=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # operator | admin | reviewer | auditor
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # absolute end, whatever the use
    remote: Mapped[str | None] = mapped_column(String(64), nullable=True)
