"""The operator console's queries with many stored verifications: record search (each filter alone, a
deep page, the bounded count), the case view and the CSV export, on SQLite and on PostgreSQL.

Each backend gets a fresh store (a temporary data dir; on PostgreSQL a database created for the run and
dropped afterwards) seeded with ``--records`` verifications shaped like real ones: two tenants (90 % /
10 %), five scenes, BizIds retried now and then, 90 days of history, a realistic mix of VerifyStatuses
(pending, held for review, reviewed), face-verify attempts with SubCodes, evidence, delivered callbacks,
image metadata for the last 7 days (older images erased, as the default media retention does), and
personal fields encrypted under each verification's own data keys exactly as ``start_attempt`` writes
them. Rows are bulk-inserted: one ``start_attempt`` (and one flush) per row would take far longer than
the queries under test.

The queries run through the console services as the admin of the larger tenant (a real console user),
``--runs`` times each (fewer for the export): p50 / p95 / max in ms. Each search's page and count
statements are captured and explained (EXPLAIN QUERY PLAN / EXPLAIN) to show the indexes they use.
Both are measured as a running deployment has them: SQLite after ``refresh_statistics`` (which every
server and worker runs every 5 minutes), PostgreSQL after ANALYZE (what autovacuum does shortly after a
load). ``--no-statistics`` leaves SQLite without them, to show what they are worth.

    .venv/bin/python bench/console.py [--records 100000] [--runs 50] [--backends sqlite,postgres]
                                      [--postgres URL] [--quick]
"""

# ruff: noqa: I001  (_common puts the repository root on sys.path first)
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from _common import percentile, write_results
from shiren.domain.idnumber import random_id_number
from shiren.domain.roles import Actor
from shiren.runtime import Runtime
from shiren.storage.db import refresh_statistics
from shiren.services.console.accounts import create_user
from shiren.services.console.cases import view_case
from shiren.services.console.stats import statistics as statistics_of
from shiren.services.console.records import (
    COUNT_CAP,
    RecordSearch,
    build_query,
    export_records,
    search_records,
)
from shiren.settings import Settings
from shiren.storage.models import (
    Attempt,
    Blob,
    CallbackDelivery,
    CallbackOutbox,
    ConsoleUser,
    ReviewDecision,
    Task,
    utcnow,
)
from shiren.storage.repo import records as records_repo
from shiren.storage.repo.scenes import create_scene
from shiren.storage.repo.tasks import identity_index, new_attempt_keys, user_index
from shiren.storage.repo.tenants import get_or_create_tenant

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DAYS = 90
MEDIA_DAYS = 7  # images are kept this long (the default media retention); older ones are erased
CHUNK = 2_000  # attempts per bulk insert and commit
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉春梅海燕文博宇轩欣怡子涵浩然"
MODELS_EVIDENCE = {"detector": "mediapipe-0.10.14", "embedder": "dlib-onnx-19.24", "ocr": "rapidocr-1.4"}
THRESHOLDS = {"authority": 80.0, "idcard": 80.0, "retained": 80.0}
CALLBACK_URL = "https://hooks.integrator.test/shiren/verify"


@dataclass(frozen=True)
class SceneSpec:
    tenant: int  # index into TENANTS
    biz_type: str
    scheme: str
    weight: float  # share of the tenant's verifications
    face_verify: bool = False  # attempts started through the face-verify family (ID_PRO / ID_MIN)
    card: bool = False  # the scheme captures the ID card (card checks, card images)


TENANTS = (("bench-acme", 0.9), ("bench-globex", 0.1))
SCENES = (
    SceneSpec(0, "Kyc", "RPBasic", 0.35, card=True),
    SceneSpec(0, "Login", "RPBioOnly", 0.35),
    SceneSpec(0, "FaceVerify", "RPBioOnly", 0.30, face_verify=True),  # ID_PRO
    SceneSpec(1, "Onboard", "RPH5BioOnly", 0.6),
    SceneSpec(1, "Fv", "RPMin", 0.4, face_verify=True),  # ID_MIN
)
# VerifyStatus of an attempt the checks decided: RP schemes, and the face-verify family (with SubCodes).
RP_STATUSES = {1: 82.0, 2: 4.0, 3: 1.0, 4: 1.0, 5: 0.5, 6: 3.0, 7: 2.0, 8: 0.5, 9: 5.0, 11: 0.5, 12: 0.5}
FV_STATUSES = {1: 83.0, 2: 5.0, 6: 1.5, 7: 3.5, 9: 5.0, 10: 0.5, 11: 1.0, 12: 0.5}
# The check whose failure gives each status.
CHECK_OF = {
    2: "authority_identity",
    3: "card_name",
    4: "card_number",
    5: "card_validity",
    6: "face_vs_card_portrait",
    7: "face_vs_authority",
    8: "card_original",
    9: "liveness",
    10: "face_vs_retained",
    11: "authority_photo",
    12: "authority_identity",
}
FAILS_WITH = {"authority_identity": 2} | {name: s for s, name in CHECK_OF.items() if s not in (2, 12)}


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _weighted(rng: random.Random, table: dict[int, float]) -> int:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _checks(spec: SceneSpec, status: int, rng: random.Random, scores: dict[str, float | None]) -> list[dict]:
    """The evidence's checks: each one the scheme runs, the one of ``status`` failed."""
    names = ["liveness", "authority_identity", "face_vs_authority"]
    if spec.card:
        names += ["card_name", "card_number", "card_validity", "card_original", "face_vs_card_portrait"]
    failed = CHECK_OF.get(status, "")
    if failed and failed not in names:
        names.append(failed)
    out = []
    for name in names:
        check: dict[str, Any] = {"name": name, "fails_with": FAILS_WITH[name], "passed": name != failed}
        if name == "liveness":
            check["score"] = round(rng.uniform(10, 40) if name == failed else rng.uniform(70, 99), 2)
            check["threshold"] = 60.0
        elif name == "face_vs_authority":
            check |= {"score": scores["authority"], "threshold": 80.0}
        elif name == "face_vs_card_portrait":
            check |= {"score": scores["idcard"], "threshold": 80.0}
        elif name == "authority_identity":
            check["data"] = {"record_found": not (name == failed and status == 2 and rng.random() < 0.4)}
        elif name.startswith("card_"):
            check["data"] = {"confidence": round(rng.uniform(0.8, 0.99), 3)}
        out.append(check)
    return out


@dataclass
class Seeded:
    """What the queries need from the seed: the actor, ids to look up, and the shape of the data."""

    admin: Actor
    operator: Actor
    tenant_ids: list[int]
    scene_pks: list[int]
    biz_ids: list[str] = field(default_factory=list)  # of the larger tenant, sampled
    tokens: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Rows:
    """One chunk's rows, table by table."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    blobs: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)


class Seeder:
    """Bulk-inserts ``n`` verifications into a fresh store, the way the services would have written them."""

    def __init__(self, runtime: Runtime, n: int, seed: int = 7, *, statistics: bool = True) -> None:
        self.runtime, self.n, self.rng = runtime, n, random.Random(seed)
        self.statistics = statistics
        self.now = utcnow().replace(microsecond=0)
        self.ids = {"outbox": 0, "delivery": 0, "review": 0}
        self.counts = dict.fromkeys(("tasks", "attempts", "callbacks", "deliveries", "blobs", "reviews"), 0)

    def setup(self) -> Seeded:
        rt = self.runtime
        with rt.sessions() as session, session.begin():
            tenants = [get_or_create_tenant(session, name) for name, _ in TENANTS]
            scenes = [
                create_scene(
                    session,
                    rt.crypto,
                    tenants[spec.tenant].id,
                    spec.biz_type,
                    spec.scheme,
                    authority="registry",
                    callback_url=CALLBACK_URL,
                    retention_days=180,
                    media_retention_days=MEDIA_DAYS,
                    review={"face_from": 60},
                )
                for spec in SCENES
            ]
            tenant_ids, scene_pks = [t.id for t in tenants], [s.id for s in scenes]
        create_user(rt, "bench-admin", "admin", TENANTS[0][0])
        create_user(rt, "bench-operator", "operator", None)
        with rt.sessions() as session:
            ids = {name: uid for name, uid in session.execute(select(ConsoleUser.name, ConsoleUser.id))}
        self.admin_id = ids["bench-admin"]
        return Seeded(
            Actor(ids["bench-admin"], "bench-admin", "admin", tenant_ids[0]),
            Actor(ids["bench-operator"], "bench-operator", "operator", None),
            tenant_ids,
            scene_pks,
        )

    def plan(self) -> tuple[list[tuple[datetime, int, str]], list[tuple[datetime, int, str, bool]]]:
        """Tasks (created_at, scene index, BizId) and their attempts (created_at, task id, UserId, whether
        the task's last), each oldest first."""
        rng = self.rng
        users = [max(10, int(self.n * share / 3)) for _, share in TENANTS]  # ~3 verifications a user
        tasks: list[tuple[datetime, int, str, str, int]] = []
        total = 0
        while total < self.n:
            tenant = 0 if rng.random() < TENANTS[0][1] else 1
            specs = [(i, s) for i, s in enumerate(SCENES) if s.tenant == tenant]
            scene = rng.choices([i for i, _ in specs], weights=[s.weight for _, s in specs])[0]
            at = self.now - timedelta(seconds=rng.uniform(3600, DAYS * 86400))
            tries = min(self.n - total, rng.choices((1, 2, 3), weights=(85, 12, 3))[0])
            user = f"U{tenant}{rng.randrange(users[tenant]):07d}"
            biz = f"ord-{at:%Y%m%d}-{_hex(rng)[:12]}"
            tasks.append((at, scene, biz, user, tries))
            total += tries
        tasks.sort()
        attempts = []
        for task_id, (at, _scene, _biz, user, tries) in enumerate(tasks, 1):
            for k in range(tries):
                attempts.append((at, task_id, user, k == tries - 1))
                at += timedelta(seconds=rng.uniform(30, 900))
        attempts.sort()
        return [(at, scene, biz) for at, scene, biz, _, _ in tasks], attempts

    def outcome(self, spec: SceneSpec, last: bool) -> tuple[int, str | None]:
        """VerifyStatus as the checks gave it, and the review state (pending: -1, None)."""
        rng = self.rng
        roll = rng.random()
        table = FV_STATUSES if spec.face_verify else RP_STATUSES
        pending, held, reviewed = (0.04, 0.05, 0.053) if last else (0.15, 0.16, 0.163)
        if roll < pending:  # a token never used (expired), or not yet
            return -1, None
        if roll < reviewed:  # a borderline face comparison, held for a reviewer (decided by one since)
            return (rng.choice((6, 7)) if spec.card else 7), "held" if roll < held else "reviewed"
        if last or rng.random() < 0.2:
            return _weighted(rng, table), None
        return _weighted(rng, {s: w for s, w in table.items() if s != 1}), None  # then tried again

    def attempt(
        self,
        out: Rows,
        ids: tuple[int, int, int],
        spec: SceneSpec,
        at: datetime,
        biz: str,
        user: str,
        last: bool,
    ) -> dict[str, Any]:
        """One attempt's row (and its callbacks, deliveries, blobs, review decisions) into ``out``."""
        attempt_id, task_id, tenant_id = ids
        rng, crypto = self.rng, self.runtime.crypto
        created = at.replace(microsecond=rng.randrange(1_000_000))
        keys = new_attempt_keys(crypto, _hex(rng))
        token, cipher = keys.token, keys.record
        name = _name(rng)
        number = random_id_number(rng, birth=date(1960, 1, 1) + timedelta(days=rng.randrange(16_000)))
        scheme = model = None
        inputs: dict[str, Any] = {"UserId": user, "UserIp": f"10.{rng.randrange(256)}.{rng.randrange(256)}.7"}
        if spec.face_verify:
            scheme = "ID_MIN" if spec.scheme == "RPMin" else "ID_PRO"
            inputs["ProductCode"] = scheme
            if scheme == "ID_PRO":
                model = rng.choice(("LIVENESS", "LIVENESS", "MULTI_ACTION", "PHOTINUS_LIVENESS"))
                inputs["Model"] = model
                inputs["MetaInfo"] = {
                    "deviceType": rng.choice(("ios", "android", "h5")),
                    "sdkVersion": "4.1.0",
                }
        else:
            inputs["UserPhoneNumber"] = f"1{rng.randrange(3, 9)}{rng.randrange(10**9):09d}"
        status, review = self.outcome(spec, last)
        decided = None if status == -1 else created + timedelta(seconds=rng.uniform(5, 120))
        scores: dict[str, float | None] = {"authority": None, "idcard": None, "retained": None}
        material: dict[str, Any] | None = None
        evidence: dict[str, Any] | None = None
        media_erased = None
        if decided is not None:
            low = rng.uniform(60, 79.9)
            scores["authority"] = round(low if status == 7 else rng.uniform(80, 99), 2)
            if spec.card:
                scores["idcard"] = round(low if status == 6 else rng.uniform(80, 99), 2)
            evidence = {
                "checks": _checks(spec, status, rng, scores),
                "models": MODELS_EVIDENCE,
                "timings_ms": {
                    "liveness": round(rng.uniform(200, 600), 1),
                    "face": round(rng.uniform(40, 90), 1),
                    "authority": round(rng.uniform(5, 40), 1),
                },
                "thresholds": THRESHOLDS,
            }
            if review:
                check = "face_vs_authority" if status == 7 else "face_vs_card_portrait"
                reason = f"{check}: score {low:.2f} in the review band [60, 80)"
                evidence["review"] = {"held": [reason], "band": {"face_from": 60.0}}
            if scheme != "ID_MIN":
                actions = ["blink"] if model != "MULTI_ACTION" else ["blink", "turn_left"]
                evidence["liveness"] = {
                    "passed": status != 9,
                    "actions": actions,
                    "frames": rng.randrange(60, 120),
                }
                evidence["challenge"] = {"actions": actions, "capture_ms": 4000}
            kinds = {"face": _hex(rng), "face_global": _hex(rng)}
            material = {"FaceQuality": round(rng.uniform(60, 99), 1), "FaceMask": False}
            material |= {"FaceImageBlob": kinds["face"], "FaceGlobalBlob": kinds["face_global"]}
            if spec.card:
                kinds |= {"id_front": _hex(rng), "id_back": _hex(rng)}
                material["IdCardInfo"] = {
                    "Name": name,
                    "Number": number,
                    "Sex": "男" if int(number[16]) % 2 else "女",
                    "Nationality": "汉",
                    "Address": "北京市东城区景山前街4号",
                    "StartDate": "20150101",
                    "EndDate": "20350101",
                    "FrontImageBlob": kinds["id_front"],
                    "BackImageBlob": kinds["id_back"],
                }
            if self.now - created < timedelta(days=MEDIA_DAYS):
                for kind, blob_id in kinds.items():
                    out.blobs.append(
                        {
                            "id": blob_id,
                            "tenant_id": tenant_id,
                            "attempt_id": attempt_id,
                            "kind": kind,
                            "content_type": "image/jpeg",
                            "size": rng.randrange(20_000, 200_000),
                            "created_at": decided,
                        }
                    )
            else:
                media_erased = created + timedelta(days=MEDIA_DAYS, seconds=rng.uniform(0, 300))
        visible = -1 if review == "held" else status
        sent_at = decided if decided is not None and review is None else None
        if review == "reviewed":
            assert decided is not None
            sent_at = decided + timedelta(hours=rng.uniform(0.1, 8))
            visible = 1 if rng.random() < 0.6 else status
            self.ids["review"] += 1
            out.reviews.append(
                {
                    "id": self.ids["review"],
                    "attempt_id": attempt_id,
                    "tenant_id": tenant_id,
                    "user_id": self.admin_id,
                    "kind": "review",
                    "from_status": -1,
                    "to_status": visible,
                    "reason_code": "same_person" if visible == 1 else "different_person",
                    "comment_enc": cipher.encrypt_field("compared with the card photo", f"review:{token}"),
                    "at": sent_at,
                }
            )
        if sent_at is not None:
            self._callback(out, attempt_id, tenant_id, token, biz, visible, scheme, sent_at)
        row = {
            "id": attempt_id,
            "task_id": task_id,
            "tenant_id": tenant_id,
            "verify_token": token,
            "created_at": created,
            "expires_at": created + timedelta(minutes=30),
            "state": "pending" if decided is None else "decided",
            "verify_status": visible,
            "name_enc": cipher.encrypt_field(name, f"name:{token}"),
            "id_number_enc": cipher.encrypt_field(number, f"idn:{token}"),
            "inputs_enc": cipher.encrypt_field(json.dumps(inputs, ensure_ascii=False), f"inputs:{token}"),
            "callback_url": CALLBACK_URL,
            "callback_seed_enc": None,
            "authority_score": scores["authority"],
            "face_score": scores["retained"],
            "idcard_face_score": scores["idcard"],
            "material_enc": None
            if material is None
            else cipher.encrypt_field(json.dumps(material, ensure_ascii=False), f"material:{token}"),
            "evidence": evidence,
            "decided_at": decided,
            "deciding_until": None,
            "scheme": scheme,
            "liveness_model": model,
            "described_at": sent_at + timedelta(seconds=rng.uniform(1, 30)) if sent_at else None,
            "result_token": None,
            "result_token_expires_at": None,
            "record_key": keys.wrapped["record"][0],
            "record_kek": keys.wrapped["record"][1],
            "media_key": None if media_erased else keys.wrapped["media"][0],
            "media_kek": None if media_erased else keys.wrapped["media"][1],
            "media_erased_at": media_erased,
            "erased_at": None,
            "identity_index": identity_index(crypto, number),
            "user_index": user_index(crypto, user),
            "decision_ms": round(rng.uniform(300, 1500), 1) if decided else None,
            "review_state": review,
            "machine_status": status if decided else None,
        }
        out.attempts.append(row)
        return row

    def _callback(
        self,
        out: Rows,
        attempt_id: int,
        tenant_id: int,
        token: str,
        biz: str,
        status: int,
        scheme: str | None,
        at: datetime,
    ) -> None:
        """The verdict's callback, delivered (a few after one failed try)."""
        rng = self.rng
        self.ids["outbox"] += 1
        outbox = self.ids["outbox"]
        tries = 1 if rng.random() < 0.97 else 2
        body = {"BizId": biz, "VerifyStatus": status, "VerifyToken": token, "Timestamp": int(at.timestamp())}
        out.callbacks.append(
            {
                "id": outbox,
                "webhook_id": f"msg_{_hex(rng)}",
                "tenant_id": tenant_id,
                "attempt_id": attempt_id,
                "url": CALLBACK_URL,
                "body": json.dumps(body, separators=(",", ":")),
                "style": "alibaba" if scheme and rng.random() < 0.3 else "webhook",
                "state": "delivered",
                "tries": tries,
                "next_at": at,
                "lease_until": None,
                "created_at": at,
                "delivered_at": at + timedelta(seconds=2 * tries),
                "last_error": None,
            }
        )
        for k in range(tries):
            self.ids["delivery"] += 1
            ok = k == tries - 1
            out.deliveries.append(
                {
                    "id": self.ids["delivery"],
                    "outbox_id": outbox,
                    "at": at + timedelta(seconds=2 * k),
                    "status_code": 200 if ok else 503,
                    "error": None if ok else "HTTP 503",
                    "duration_ms": round(rng.uniform(20, 300), 1),
                }
            )

    def run(self) -> Seeded:
        t0 = time.perf_counter()
        seeded = self.setup()
        tasks, attempts = self.plan()
        rt, rng = self.runtime, self.rng
        tenant_of = [seeded.tenant_ids[SCENES[scene].tenant] for _, scene, _ in tasks]
        for start in range(0, len(tasks), 5 * CHUNK):
            rows = [
                {"id": i + 1, "tenant_id": tenant_of[i], "scene_id": seeded.scene_pks[scene], "biz_id": biz}
                | {"created_at": at}
                for i, (at, scene, biz) in enumerate(tasks[start : start + 5 * CHUNK], start)
            ]
            with rt.sessions() as session, session.begin():
                session.execute(insert(Task), rows)
        self.counts["tasks"] = len(tasks)
        for start in range(0, len(attempts), CHUNK):
            out = Rows()
            for attempt_id, (at, task_id, user, last) in enumerate(
                attempts[start : start + CHUNK], start + 1
            ):
                _, scene, biz = tasks[task_id - 1]
                spec = SCENES[scene]
                ids = (attempt_id, task_id, tenant_of[task_id - 1])
                row = self.attempt(out, ids, spec, at, biz, user, last)
                if spec.tenant == 0 and rng.random() < 0.02:  # lookups for the queries
                    seeded.biz_ids.append(biz)
                    seeded.tokens.append(row["verify_token"])
                    seeded.user_ids.append(user)
            with rt.sessions() as session, session.begin():
                for model, items in (
                    (Attempt, out.attempts),
                    (CallbackOutbox, out.callbacks),
                    (CallbackDelivery, out.deliveries),
                    (Blob, out.blobs),
                    (ReviewDecision, out.reviews),
                ):
                    if items:
                        session.execute(insert(model), items)
            for key, items in (
                ("attempts", out.attempts),
                ("callbacks", out.callbacks),
                ("deliveries", out.deliveries),
                ("blobs", out.blobs),
                ("reviews", out.reviews),
            ):
                self.counts[key] += len(items)
        self._finish()
        seeded.counts = dict(self.counts)
        seeded.seconds = time.perf_counter() - t0
        return seeded

    def _finish(self) -> None:
        """PostgreSQL: sequences past the explicit ids, and the planner's statistics (SQLite: the
        statistics shiren refreshes itself, unless --no-statistics)."""
        engine = self.runtime.engine
        if engine.dialect.name != "postgresql":
            if self.statistics:
                refresh_statistics(engine)
            return
        with engine.begin() as conn:
            for table in ("tasks", "attempts", "callback_outbox", "callback_deliveries", "review_decisions"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                    )
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


# --- plans -----------------------------------------------------------------------------------------------


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run meanwhile, with their parameters (as handed to the driver)."""
    seen: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def explain(engine: Engine, statement: str, params: Any) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)]
        return [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, params)]


SQLITE_STEP = re.compile(
    r"(SCAN|SEARCH) (\w+)(?: AS \w+)?(?: USING (?:COVERING )?INDEX (\w+)|( USING INTEGER))?"
)
PG_STEP = re.compile(
    r"(Seq Scan on (\w+)|Index (?:Only )?Scan(?: Backward)? using (\w+)|Bitmap Index Scan on (\w+))"
)


def summarize(lines: list[str], dialect: str) -> str:
    """The indexes a plan uses, in order, and its full scans and sorts."""
    parts: list[str] = []
    for line in lines:
        if dialect == "sqlite":
            m = SQLITE_STEP.search(line)
            if m and m.group(3):
                parts.append(m.group(3))
            elif m and m.group(4):
                parts.append(f"{m.group(2)} pk")
            elif m:
                parts.append(f"FULL SCAN {m.group(2)}")
            if "TEMP B-TREE" in line:
                parts.append("SORT (temp b-tree)")
        else:
            m = PG_STEP.search(line)
            if m and m.group(2):
                parts.append(f"SEQ SCAN {m.group(2)}")
            elif m:
                parts.append(m.group(3) or m.group(4))
            sort = re.match(r"(?:->\s+)?(Incremental )?Sort\s+\(cost", line.strip())  # not "Sort Key:"
            if sort:
                parts.append("incremental sort (presorted)" if sort.group(1) else "SORT")
    return ", ".join(dict.fromkeys(parts)) or "?"


def plans_of(engine: Engine, seen: list[tuple[str, Any]]) -> dict[str, Any]:
    """The page and count statements of one search, explained."""
    out: dict[str, Any] = {}
    for statement, params in seen:
        kind = "count" if "count(" in statement.lower() else "page" if "ORDER BY" in statement else None
        if kind is None or kind in out or "attempts" not in statement:
            continue
        lines = explain(engine, statement, params)
        out[kind] = {"uses": summarize(lines, engine.dialect.name), "plan": lines}
    return out


# --- measuring -------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    call: Callable[[int], Any]  # run index → result
    runs: int
    explain: bool = True


def stats_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def found(result: Any) -> str:
    if isinstance(result, tuple):  # an export: (csv, rows)
        return f"{result[1]} rows"
    if isinstance(result, int):
        return f"{result}"
    if hasattr(result, "latency"):  # statistics: the verifications they counted
        return f"{result.total}"
    total = getattr(result, "total", None)
    if total is not None:
        return f"{total}{'+' if result.total_capped else ''}"
    return "1" if result is not None else "0"


def cases(rt: Runtime, seeded: Seeded, runs: int) -> list[Case]:
    admin = seeded.admin
    rng = random.Random(11)
    picks = list(zip(seeded.biz_ids, seeded.tokens, seeded.user_ids, strict=True))
    rng.shuffle(picks)
    if not picks:
        raise SystemExit("the seed left no lookups: use more --records")

    def pick(i: int, k: int) -> str:
        return picks[i % len(picks)][k]

    def search(actor: Actor = admin, after: str | None = None, **filters: Any) -> Callable[[int], Any]:
        return lambda i: search_records(rt, actor, RecordSearch(**filters), after=after)

    day = (utcnow() - timedelta(days=30)).date()
    week = {"date_from": day, "date_to": day + timedelta(days=6)}
    cursor: str | None = None
    for _ in range(20):  # the 21st page: after following next_cursor 20 times
        cursor = search_records(rt, admin, RecordSearch(), after=cursor).next_cursor
        if cursor is None:
            break
    query = build_query(rt, admin, RecordSearch())

    def count(_: int) -> int:
        with rt.sessions() as session:
            return records_repo.count(session, query, cap=COUNT_CAP + 1)

    view_tokens = list(reversed(seeded.tokens))
    today = utcnow().date()
    return [
        Case("first page (no filter)", search(), runs),
        Case("first page, operator (every tenant)", search(seeded.operator), runs),
        Case("BizId", lambda i: search_records(rt, admin, RecordSearch(biz_id=pick(i, 0))), runs),
        Case("token", lambda i: search_records(rt, admin, RecordSearch(token=pick(i, 1))), runs),
        Case("scene", search(scene_id=seeded.scene_pks[0]), runs),
        Case("status 2", search(status="2"), runs),
        Case("SubCode 204", search(sub_code="204"), runs),
        Case("7 days", search(**week), runs),
        Case("UserId", lambda i: search_records(rt, admin, RecordSearch(user_id=pick(i, 2))), runs),
        Case("review held", search(review="held"), runs),
        Case("page 21 (20 cursors deep)", search(after=cursor), runs),
        Case("bounded count (no filter)", count, runs),
        Case("case view", lambda i: view_case(rt, admin, view_tokens[i % len(view_tokens)]), runs, False),
        Case(
            "statistics 30 days",
            lambda i: statistics_of(rt, admin, start=today - timedelta(days=29), end=today),
            min(10, runs),
            False,
        ),
        Case(
            "statistics 92 days",
            lambda i: statistics_of(rt, admin, start=today - timedelta(days=91), end=today),
            min(10, runs),
            False,
        ),
        Case(
            "export 7 days (CSV)",
            lambda i: export_records(rt, admin, RecordSearch(**week)),
            min(5, runs),
            False,
        ),
    ]


def measure(rt: Runtime, seeded: Seeded, runs: int) -> tuple[dict[str, Any], dict[str, Any]]:
    results: dict[str, Any] = {}
    plans: dict[str, Any] = {}
    for case in cases(rt, seeded, runs):
        with captured(rt.engine) as seen:
            result = case.call(runs)  # warm-up (not timed), and the statements to explain
        if case.explain:
            plans[case.name] = plans_of(rt.engine, seen)
        times = []
        for i in range(case.runs):
            t0 = time.perf_counter()
            case.call(i)
            times.append(time.perf_counter() - t0)
        results[case.name] = {**stats_ms(times), "found": found(result)}
        r = results[case.name]
        print(
            f"  {case.name:<38} {r['found']:>11} {r['p50_ms']:>9.1f} {r['p95_ms']:>9.1f} {r['max_ms']:>9.1f}"
        )
    return results, plans


# --- backends --------------------------------------------------------------------------------------------


class Unreachable(Exception):
    """The PostgreSQL server cannot be reached (or refuses to create the run's database)."""


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A database created for the run on the server of ``url``, dropped afterwards."""
    base = make_url(url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"shiren_bench_{secrets.token_hex(5)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise Unreachable(reason) from exc
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_backend(
    label: str, database_url: str | None, records: int, runs: int, *, statistics: bool = True
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="shiren-console-"))
    settings = Settings(
        data_dir=tmp,
        database_url=database_url,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        run_workers=False,
    )
    rt = Runtime.build(settings)
    try:
        print(f"\n{label}: seeding {records:,} verifications ...", flush=True)
        seeded = Seeder(rt, records, statistics=statistics).run()
        counts = ", ".join(f"{v:,} {k}" for k, v in seeded.counts.items())
        print(f"  seeded in {seeded.seconds:.1f} s ({counts})")
        print(f"\n  {'query':<38} {'found':>11} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
        queries, plans = measure(rt, seeded, runs)
        print(f"\n  {label} plans (page; count):")
        for name, plan in plans.items():
            page, count = plan.get("page", {}).get("uses", "-"), plan.get("count", {}).get("uses", "-")
            print(f"    {name:<38} {page}; count: {count}")
        return {
            "records": records,
            "seed_s": round(seeded.seconds, 1),
            "rows": seeded.counts,
            "queries": queries,
            "plans": plans,
        }
    finally:
        rt.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=None, help="verifications stored (default 100,000)")
    ap.add_argument("--runs", type=int, default=None, help="repetitions of each query (default 50)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--postgres", default=DEFAULT_PG, help="a PostgreSQL server (the run creates a database)")
    ap.add_argument("--quick", action="store_true", help="5,000 verifications, 5 runs")
    ap.add_argument("--no-statistics", action="store_true", help="SQLite without planner statistics")
    args = ap.parse_args()
    records = args.records or (5_000 if args.quick else 100_000)
    runs = args.runs or (5 if args.quick else 50)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results: dict[str, Any] = {"records": records, "runs": runs, "backends": {}}
    if "sqlite" in backends:
        stats = not args.no_statistics
        results["backends"]["sqlite"] = run_backend("SQLite", None, records, runs, statistics=stats)
    if "postgres" in backends:
        shown = make_url(args.postgres).render_as_string(hide_password=True)
        try:
            with postgres_database(args.postgres) as url:
                results["backends"]["postgres"] = run_backend("PostgreSQL", url, records, runs)
        except Unreachable as exc:
            print(f"\nPostgreSQL: skipped, cannot connect to {shown}: {exc}")
            results["backends"]["postgres"] = {"skipped": f"cannot connect: {exc}"}
    report(results)
    write_results("console", results)


def report(results: dict[str, Any]) -> None:
    done = {k: v for k, v in results["backends"].items() if "queries" in v}
    if not done:
        return
    print(f"\n{results['records']:,} verifications, {results['runs']} runs (p50 / p95 / max, ms)")
    head = "".join(f" {name:>26}" for name in done)
    print(f"{'query':<38}{head}")
    for query in next(iter(done.values()))["queries"]:
        cells = ""
        for backend in done.values():
            r = backend["queries"][query]
            cells += f" {r['p50_ms']:>8.1f}/{r['p95_ms']:>7.1f}/{r['max_ms']:>8.1f}"
        print(f"{query:<38}{cells}")
    print("seeding: " + ", ".join(f"{k} {v['seed_s']:.0f} s" for k, v in done.items()))


if __name__ == "__main__":
    main()
