"""Callbacks end to end: official-SDK VerifyMaterial → real server → outbox → signed POST → real receiver.

The receiver is a local HTTP server that answers each callback as the test scripts it (fail, hold the
request, answer slowly, succeed) and verifies every signature the way a Standard Webhooks receiver would,
with an implementation independent of shiren's. Server restarts (SIGTERM and SIGKILL) happen between and
during tries; the database is inspected through the same models the server uses.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shiren.runtime import Runtime
from shiren.services.callbacks import enqueue_callback, signing_secret
from shiren.settings import Settings
from shiren.storage.models import Attempt, CallbackDelivery, CallbackOutbox, Scene, Task, utcnow
from shiren.storage.repo.scenes import create_scene, get_scene
from shiren.storage.repo.tasks import start_attempt
from shiren.storage.repo.tenants import get_or_create_tenant
from shiren.workers.callbacks import CallbackWorker, Job, backoff_s, send
from tests.fixtures.photos import photo
from tests.peers import HOLD, ImageHost, Plan, Received, Receiver, signature_valid
from tests.sdk import models, tea
from tests.support import ShirenServer

TENANT = "hooks"
QUERY_SECRET = "qs-token-4f1d"  # in the callback URL's query string: must never reach the log
ID_NUMBER = "11010519491231002X"
TIMEOUT_S = 1.0
LEASE_S = TIMEOUT_S + 5.0  # shiren.workers.callbacks.lease_seconds for this timeout
ENV = {
    "SHIREN_CALLBACK_TIMEOUT_S": str(TIMEOUT_S),
    "SHIREN_CALLBACK_BACKOFF_BASE_S": "0.3",
    "SHIREN_CALLBACK_BACKOFF_MAX_S": "2",
    "SHIREN_CALLBACK_POLL_S": "0.2",
    "SHIREN_CALLBACK_MAX_TRIES": "8",
}


# --- fixtures -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver(query=f"token={QUERY_SECRET}")
    yield r
    r.close()


@pytest.fixture(scope="module")
def private_receiver() -> Iterator[Receiver]:
    """A receiver on a loopback address that SHIREN_FETCH_ALLOW_HOSTS does *not* name."""
    r = Receiver(query=f"token={QUERY_SECRET}")
    yield r
    r.close()


@pytest.fixture(scope="module")
def host() -> Iterator[ImageHost]:
    h = ImageHost()
    h.put("face.jpg", photo("obama2.jpg").read_bytes())
    yield h
    h.close()


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver, private_receiver: Receiver, host: ImageHost
) -> Iterator[tuple[ShirenServer, dict[str, str]]]:
    srv = ShirenServer(
        tmp_path_factory.mktemp("callbacks"),
        env={**ENV, "SHIREN_FETCH_ALLOW_HOSTS": f"{host.authority},{receiver.authority}"},
    )
    srv.start()
    key = srv.new_tenant(TENANT)
    for biz_type, scheme, url in (
        ("CbMin", "RPMin", receiver.url()),
        ("CbPrivate", "RPMin", private_receiver.url()),
        ("CbBio", "RPBioOnly", receiver.url()),
    ):
        view = srv.cli_json(
            "scene", "create", biz_type, "--scheme", scheme, "--tenant", TENANT,
            "--authority", "registry", "--callback-url", url,
        )  # fmt: skip
        PRINTED_SECRETS[biz_type] = view["CallbackSecret"]  # what the operator is shown, once
    yield srv, key
    srv.stop()
    log = srv.log()
    assert QUERY_SECRET not in log and "webhook-signature" not in log.lower()
    assert '"VerifyStatus"' not in log  # no callback body


@pytest.fixture(scope="module")
def db(env: tuple[ShirenServer, dict[str, str]]) -> Iterator[Runtime]:
    """The server's own database and keys, opened from the test process (as the command line does)."""
    srv, _ = env
    runtime = Runtime.build(Settings(data_dir=srv.data_dir))
    yield runtime
    runtime.close()


def verify_material(env: tuple[ShirenServer, dict[str, str]], host: ImageHost, biz_type: str, biz_id: str):
    """A real completion: face only against an empty registry, so VerifyStatus 2 after real face analysis."""
    srv, key = env
    return (
        tea(srv, key)
        .verify_material(
            models.VerifyMaterialRequest(
                biz_id=biz_id,
                biz_type=biz_type,
                name="王建国",
                id_card_number=ID_NUMBER,
                face_image_url=f"http://{host.authority}/face.jpg",
            )
        )
        .body
    )


PRINTED_SECRETS: dict[str, str] = {}


def scene_secret(db: Runtime, biz_type: str) -> bytes:
    """The scene's signing key, as `scene create` printed it (and as the database holds it)."""
    with db.sessions() as session:
        tenant = get_or_create_tenant(session, TENANT)
        scene = get_scene(session, tenant.id, biz_type)
        assert scene is not None
        secret = signing_secret(db.crypto, scene, None)
    assert secret == PRINTED_SECRETS[biz_type].encode()
    return secret


def outbox(db: Runtime, webhook_id: str) -> tuple[CallbackOutbox, list[CallbackDelivery]]:
    with db.sessions() as session:
        row = session.scalar(select(CallbackOutbox).where(CallbackOutbox.webhook_id == webhook_id))
        assert row is not None
        query = select(CallbackDelivery).where(CallbackDelivery.outbox_id == row.id)
        tries = list(session.scalars(query.order_by(CallbackDelivery.id)))
        return row, tries


def outbox_for_token(db: Runtime, token: str) -> CallbackOutbox | None:
    with db.sessions() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.verify_token == token))
        assert attempt is not None
        return session.scalar(select(CallbackOutbox).where(CallbackOutbox.attempt_id == attempt.id))


RowCheck = Callable[[CallbackOutbox, list[CallbackDelivery]], bool]


def wait_row(db: Runtime, webhook_id: str, ok: RowCheck) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ok(*outbox(db, webhook_id)):
            return
        time.sleep(0.05)
    raise AssertionError(f"outbox row {webhook_id} never got there: {outbox(db, webhook_id)}")


def successes(hits: list[Received]) -> list[Received]:
    return [h for h in hits if h.status is not None and 200 <= h.status < 300]


# --- tests --------------------------------------------------------------------------------------------------


def test_backoff_doubles_and_is_capped() -> None:
    settings = Settings(callback_backoff_base_s=2, callback_backoff_max_s=60)
    delays = [backoff_s(settings, n) for n in range(1, 9)]
    for n, delay in enumerate(delays[:5], start=1):
        assert 2 * 2 ** (n - 1) <= delay <= 2 * 2 ** (n - 1) * 1.1
    assert delays[5:] == [60, 60, 60]


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    """A 3xx is an answer like any other (a failed try); its Location would escape the address check."""
    receiver.plans["redirect"] = Plan([("redirect", receiver.url("/elsewhere"))])
    body = json.dumps({"BizId": "redirect"})
    job = Job(0, "msg_redirect", receiver.url(), body, 0, utcnow(), b"key")
    settings = Settings(fetch_allow_hosts=receiver.authority, callback_timeout_s=2)
    result = asyncio.run(send(job, settings))
    assert (result.status_code, result.error, result.delivered) == (307, "HTTP 307", False)
    time.sleep(0.2)
    assert [h.headers["path"] for h in receiver.for_biz("redirect")] == [
        f"/hooks/shiren?token={QUERY_SECRET}"
    ]


def test_signed_callback_with_the_spec_body(env, host: ImageHost, receiver: Receiver, db: Runtime) -> None:
    before = time.time()
    body = verify_material(env, host, "CbMin", "plain")
    receiver.wait_for(lambda: len(successes(receiver.for_biz("plain"))) == 1)
    time.sleep(0.3)  # nothing more may follow
    [hit] = receiver.for_biz("plain")
    doc = hit.doc
    assert list(doc) == ["BizId", "BizType", "VerifyStatus", "VerifyToken", "Timestamp"]
    assert doc["BizId"] == "plain" and doc["BizType"] == "CbMin"
    assert doc["VerifyStatus"] == body.verify_status and isinstance(doc["VerifyStatus"], int)
    assert doc["VerifyToken"] == body.verify_token
    assert isinstance(doc["Timestamp"], int)
    assert before * 1000 - 1000 <= doc["Timestamp"] <= time.time() * 1000
    h = hit.headers
    assert h["content-type"] == "application/json"
    assert h["user-agent"].startswith("shiren/")
    assert h["path"] == f"/hooks/shiren?token={QUERY_SECRET}"
    assert h["webhook-id"].startswith("msg_") and abs(int(h["webhook-timestamp"]) - time.time()) < 10
    assert h["webhook-signature"].startswith("v1,")
    assert signature_valid(scene_secret(db, "CbMin"), hit)
    assert not signature_valid(b"some other secret", hit)
    row, tries = outbox(db, hit.webhook_id)
    assert (row.state, row.tries, row.lease_until) == ("delivered", 1, None) and row.delivered_at
    assert row.body.encode() == hit.body
    assert [(t.status_code, t.error) for t in tries] == [(200, None)]


def test_retries_survive_a_graceful_restart(env, host: ImageHost, receiver: Receiver, db: Runtime) -> None:
    srv, _ = env
    receiver.plans["term"] = Plan(default=500)
    verify_material(env, host, "CbMin", "term")
    receiver.wait_for(lambda: any(h.status == 500 for h in receiver.for_biz("term")))
    webhook_id = receiver.for_biz("term")[0].webhook_id
    wait_row(db, webhook_id, lambda row, tries: row.tries >= 1)
    srv.stop()  # SIGTERM: sends in flight finish, nothing new is claimed
    before_restart = receiver.for_biz("term")
    assert before_restart and all(h.status == 500 for h in before_restart)
    receiver.plans["term"] = Plan([500], default=200)  # fails once more after the restart, then succeeds
    srv.start()
    receiver.wait_for(lambda: len(successes(receiver.for_biz("term"))) == 1)
    time.sleep(0.5)
    hits = receiver.for_biz("term")
    assert [h.status for h in hits[len(before_restart) :]] == [500, 200]
    assert {h.webhook_id for h in hits} == {webhook_id}
    secret = scene_secret(db, "CbMin")
    assert all(signature_valid(secret, h) for h in hits)
    assert len({h.body for h in hits}) == 1  # the exact same body on every try
    row, tries = outbox(db, webhook_id)
    assert row.state == "delivered" and row.tries == len(hits) == len(tries)
    assert [t.status_code for t in tries] == [h.status for h in hits]
    assert all(t.error == "HTTP 500" for t in tries[:-1]) and tries[-1].error is None


def test_kill_9_during_a_send_loses_nothing(env, host: ImageHost, receiver: Receiver, db: Runtime) -> None:
    srv, _ = env
    receiver.release.clear()
    receiver.plans["kill"] = Plan([HOLD, 500], default=200)
    verify_material(env, host, "CbMin", "kill")
    receiver.wait_for(lambda: len(receiver.for_biz("kill")) == 1)  # the first try is in flight, held open
    assert srv.proc is not None
    srv.proc.kill()  # SIGKILL mid-send: no outcome is recorded, the lease stays
    srv.proc.wait(10)
    receiver.release.set()
    webhook_id = receiver.for_biz("kill")[0].webhook_id
    row, tries = outbox(db, webhook_id)
    assert row.state == "pending" and row.tries == 0 and not tries
    assert row.lease_until is not None and row.lease_until > utcnow()
    lease_end = row.lease_until.timestamp()
    srv.start()
    receiver.wait_for(lambda: len(successes(receiver.for_biz("kill"))) == 1, timeout=LEASE_S + 15)
    time.sleep(0.5)
    hits = receiver.for_biz("kill")
    assert [h.status for h in hits] == [500, 500, 200]  # held (answer lost), failed, succeeded
    assert hits[1].at >= lease_end - 0.05  # nobody touched the row before its lease ran out
    assert {h.webhook_id for h in hits} == {webhook_id}
    assert all(signature_valid(scene_secret(db, "CbMin"), h) for h in hits)
    row, tries = outbox(db, webhook_id)
    assert row.state == "delivered" and row.tries == 2
    assert [t.status_code for t in tries] == [500, 200]  # the killed try left no row


def test_private_receiver_is_refused_at_send_time(
    env, host: ImageHost, private_receiver: Receiver, db: Runtime
) -> None:
    body = verify_material(env, host, "CbPrivate", "private")
    deadline = time.monotonic() + 20
    row = outbox_for_token(db, body.verify_token)
    while row is None or row.state == "pending":
        assert time.monotonic() < deadline, "callback never given up"
        time.sleep(0.05)
        row = outbox_for_token(db, body.verify_token)
    _, tries = outbox(db, row.webhook_id)
    assert row.state == "failed" and row.tries == 1 and len(tries) == 1
    assert tries[0].status_code is None and "non-public address" in (tries[0].error or "")
    assert QUERY_SECRET not in (tries[0].error or "") and "non-public" in (row.last_error or "")
    time.sleep(0.5)
    assert private_receiver.hits == []  # never connected to


def test_slow_receiver_times_out_and_is_retried(
    env, host: ImageHost, receiver: Receiver, db: Runtime
) -> None:
    # Answers only after the sender gave up (a late 2xx would be a duplicate the receiver must dedupe).
    receiver.plans["slow"] = Plan([("sleep", TIMEOUT_S + 1.5, 503)], default=200)
    verify_material(env, host, "CbMin", "slow")
    receiver.wait_for(lambda: len(receiver.for_biz("slow")) == 2)
    webhook_id = receiver.for_biz("slow")[0].webhook_id
    wait_row(db, webhook_id, lambda row, tries: row.state == "delivered")
    row, tries = outbox(db, webhook_id)
    assert row.tries == 2
    assert tries[0].status_code is None and tries[0].error == f"CallbackUrl: timed out after {TIMEOUT_S:g} s"
    assert TIMEOUT_S * 1000 * 0.9 <= tries[0].duration_ms < TIMEOUT_S * 1000 + 500
    assert tries[1].status_code == 200


def test_callback_seed_signs_instead_of_the_scene_secret(env, receiver: Receiver, db: Runtime) -> None:
    """DescribeVerifyToken with CallbackUrl + CallbackSeed; the decision is recorded as the device path
    will record it (verdict and outbox row in one transaction), here from the test process, so the
    server's worker also has to find a row queued by another process."""
    srv, key = env
    seed = "integrator-seed-7d3e"
    token = (
        tea(srv, key)
        .describe_verify_token(
            models.DescribeVerifyTokenRequest(
                biz_id="seeded",
                biz_type="CbBio",
                name="张三",
                id_card_number=ID_NUMBER,
                callback_url=receiver.url("/seeded"),
                callback_seed=seed,
            )
        )
        .body.verify_token
    )
    with db.sessions() as session, session.begin():
        attempt = session.scalar(select(Attempt).where(Attempt.verify_token == token))
        assert attempt is not None
        task = session.get(Task, attempt.task_id)
        scene = session.get(Scene, task.scene_id) if task else None
        assert scene is not None
        attempt.state, attempt.verify_status, attempt.decided_at = "decided", 1, utcnow()
        enqueue_callback(session, scene, attempt)
    receiver.wait_for(lambda: len(successes(receiver.for_biz("seeded"))) == 1)
    [hit] = receiver.for_biz("seeded")
    assert hit.headers["path"].startswith("/seeded?")
    assert hit.doc["VerifyToken"] == token and hit.doc["VerifyStatus"] == 1 and hit.doc["BizType"] == "CbBio"
    assert signature_valid(seed.encode(), hit)
    assert not signature_valid(scene_secret(db, "CbBio"), hit)


def test_two_processes_share_the_outbox_without_double_sends(
    env, receiver: Receiver, db: Runtime, tmp_path: Path
) -> None:
    """A second server on the same database: each of a burst of rows is sent by exactly one process."""
    srv, _ = env
    second = ShirenServer(srv.data_dir, env={k: v for k, v in srv.env.items() if k != "SHIREN_PORT"})
    second.start()
    try:
        n = 40
        with db.sessions() as session, session.begin():
            tenant = get_or_create_tenant(session, TENANT)
            scene = get_scene(session, tenant.id, "CbMin")
            assert scene is not None
            for i in range(n):
                attempt = start_attempt(
                    session, db.crypto, scene, f"burst-{i}", ttl=timedelta(0), id_number=ID_NUMBER
                )
                attempt.state, attempt.verify_status, attempt.decided_at = "decided", 1, utcnow()
                enqueue_callback(session, scene, attempt)
        ids = {f"burst-{i}" for i in range(n)}

        def all_in() -> bool:
            return {h.doc["BizId"] for h in successes(receiver.hits)} >= ids

        receiver.wait_for(all_in)
        time.sleep(0.5)
        burst = [h for h in receiver.hits if h.doc["BizId"] in ids]
        assert len(burst) == n and len({h.webhook_id for h in burst}) == n
        with db.sessions() as session:
            rows = list(session.scalars(select(CallbackOutbox).where(CallbackOutbox.webhook_id.in_(
                [h.webhook_id for h in burst]
            ))))  # fmt: skip
            assert {r.state for r in rows} == {"delivered"} and len(rows) == n
            count = session.scalar(
                select(func.count()).where(CallbackDelivery.outbox_id.in_([r.id for r in rows]))
            )
            assert count == n
    finally:
        second.stop()


def test_nothing_is_sent_again_after_success(receiver: Receiver) -> None:
    """Over all the tests above (three restarts, one of them kill -9): one 2xx per webhook id, and
    nothing for an id after its 2xx."""
    by_id: dict[str, list[Received]] = {}
    for hit in receiver.hits:
        by_id.setdefault(hit.webhook_id, []).append(hit)
    assert len(by_id) >= 45
    by_id.pop("msg_redirect", None)
    for hits in by_id.values():
        assert [h.status for h in hits].count(200) == 1
        assert hits[-1].status == 200


def test_two_workers_on_postgresql_claim_exclusively(pg_url: str, receiver: Receiver, tmp_path: Path) -> None:
    """Two workers with their own connection pools (as two replicas) drain one PostgreSQL outbox; every
    fifth receiver answer is a 500 first, so retries are claimed by either worker too."""
    settings = Settings(
        database_url=pg_url,
        data_dir=tmp_path,
        master_key=base64.b64encode(os.urandom(32)).decode(),
        fetch_allow_hosts=receiver.authority,
        callback_poll_s=0.05,
        callback_backoff_base_s=0.1,
        callback_timeout_s=2,
    )
    first, second = Runtime.build(settings), Runtime.build(settings, apply_migrations=False)
    n = 60
    try:
        with first.sessions() as session, session.begin():
            tenant = get_or_create_tenant(session, "pg-hooks")
            scene = create_scene(
                session, first.crypto, tenant.id, "PgHooks", "RPMin", callback_url=receiver.url("/pg")
            )
            for i in range(n):
                receiver.plans[f"pg-{i}"] = Plan([500] if i % 5 == 0 else [])
                attempt = start_attempt(session, first.crypto, scene, f"pg-{i}", ttl=timedelta(0))
                attempt.state, attempt.verify_status, attempt.decided_at = "decided", 1, utcnow()
                enqueue_callback(session, scene, attempt)
            secret = signing_secret(first.crypto, scene, None)
        ids = {f"pg-{i}" for i in range(n)}

        async def drain() -> None:
            workers = [CallbackWorker(first, concurrency=8), CallbackWorker(second, concurrency=8)]
            for w in workers:
                w.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if ids <= {h.doc["BizId"] for h in successes(receiver.hits)}:
                    break
                await asyncio.sleep(0.05)
            for w in workers:
                await w.stop()

        asyncio.run(drain())
        hits = [h for h in receiver.hits if h.doc["BizId"] in ids]
        assert len(successes(hits)) == n and len(hits) == n + n // 5
        assert len({h.webhook_id for h in successes(hits)}) == n
        assert all(signature_valid(secret, h) for h in hits)
        with first.sessions() as session:
            states = session.execute(
                select(CallbackOutbox.state, func.count()).group_by(CallbackOutbox.state)
            )
            assert {state: count for state, count in states} == {"delivered": n}
            assert session.scalar(select(func.count()).select_from(CallbackDelivery)) == len(hits)
    finally:
        first.close()
        second.close()
