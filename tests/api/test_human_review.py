"""Human review end to end: a real server, the official SDK on the integrator's side, real models and real
photographs, and console users signed in over HTTP.

The scene "Held" compares the live face with the registry's photo at threshold 95 and holds scores from
60 up: obama2.jpg against obama.jpg scores about 87, a genuine but borderline pair, so its verdict waits
for a reviewer; biden.jpg against obama.jpg scores far under 60, a clear failure the machine gives alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.console_support import HOLDER, ConsoleClient, create_user, review_server, verify_material
from tests.peers import ImageHost, Receiver
from tests.sdk import core_call


@pytest.fixture(scope="module")
def host() -> Iterator[ImageHost]:
    h = ImageHost()
    yield h
    h.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, host: ImageHost, receiver: Receiver):
    srv, key = review_server(
        tmp_path_factory.mktemp("review"), tmp_path_factory.mktemp("roster"), host, receiver
    )
    users = {
        "rita": create_user(srv, "rita", "reviewer", "acme"),
        "adam": create_user(srv, "adam", "admin", "acme"),
        "gina": create_user(srv, "gina", "reviewer", "globex"),
    }
    yield srv, key, users
    srv.stop()


def verify(env, host: ImageHost, biz_type: str, biz_id: str, face: str):
    srv, key, _ = env
    return verify_material(srv, key, host, biz_type, biz_id, face)


def describe(env, biz_type: str, biz_id: str) -> dict:
    srv, key, _ = env
    return core_call(srv, key, "DescribeVerifyResult", BizId=biz_id, BizType=biz_type)


def console(env, name: str) -> ConsoleClient:
    srv, _, users = env
    client = ConsoleClient(srv)
    answer = client.sign_in(name, users[name])
    assert answer.status_code == 303, answer.text
    users[name] = "a-long-enough-passphrase-42"  # the next sign-in uses the password set the first time
    return client


def test_borderline_verdict_is_held_until_a_reviewer_approves(
    env, host: ImageHost, receiver: Receiver
) -> None:
    body = verify(env, host, "Held", "held-1", "obama2.jpg")
    # The integrator sees "not yet": no score, no material, no callback.
    assert body.verify_status == -1 and body.material is None, body.to_map()
    assert body.verify_token
    result = describe(env, "Held", "held-1")
    assert result["VerifyStatus"] == -1 and "Material" not in result
    time.sleep(1.5)
    assert receiver.for_biz("held-1") == []

    rita = console(env, "rita")
    queue = rita.get("/console/queue")
    assert queue.status_code == 200 and "held-1" in queue.text and "face_vs_authority" in queue.text
    case = rita.get(f"/console/cases/{body.verify_token}")
    assert case.status_code == 200 and HOLDER in case.text and "Held for review" in case.text
    decided = rita.post(
        f"/console/cases/{body.verify_token}/review", decision="approve", reason="same_person", comment="ok"
    )
    assert decided.status_code == 303, decided.text

    result = describe(env, "Held", "held-1")
    assert result["VerifyStatus"] == 1 and result["Material"]["FaceImageUrl"]
    receiver.wait_for(lambda: bool(receiver.for_biz("held-1")))
    (hit,) = receiver.for_biz("held-1")
    assert hit.doc["VerifyStatus"] == 1 and hit.doc["VerifyToken"] == body.verify_token
    # Decided once: a second decision is refused and changes nothing.
    again = rita.post(f"/console/cases/{body.verify_token}/review", decision="reject", reason="poor_quality")
    assert again.status_code == 409
    assert describe(env, "Held", "held-1")["VerifyStatus"] == 1
    case = rita.get(f"/console/cases/{body.verify_token}")
    assert (
        "rita" in case.text and "same_person" in case.text and "approve" not in case.text.split("Decide")[0]
    )
    rita.close()


def test_reject_keeps_the_machine_failure_and_fires_the_callback(
    env, host: ImageHost, receiver: Receiver
) -> None:
    body = verify(env, host, "Held", "held-2", "obama2.jpg")
    assert body.verify_status == -1
    rita = console(env, "rita")
    assert (
        rita.post(
            f"/console/cases/{body.verify_token}/review", decision="reject", reason="different_person"
        ).status_code
        == 303
    )
    assert describe(env, "Held", "held-2")["VerifyStatus"] == 7
    receiver.wait_for(lambda: bool(receiver.for_biz("held-2")))
    assert receiver.for_biz("held-2")[0].doc["VerifyStatus"] == 7
    rita.close()


def test_clear_failures_and_scenes_without_a_band_are_not_held(env, host: ImageHost) -> None:
    assert verify(env, host, "Held", "clear-fail", "biden.jpg").verify_status == 7
    plain = verify(env, host, "Plain", "plain-1", "obama2.jpg")
    assert plain.verify_status == 7 and plain.authority_comparision_score < 95


def test_two_reviewers_deciding_at_once_one_wins(env, host: ImageHost, receiver: Receiver) -> None:
    body = verify(env, host, "Held", "held-race", "obama2.jpg")
    rita, adam = console(env, "rita"), console(env, "adam")
    answers: list[int] = []

    def decide(client: ConsoleClient, decision: str, reason: str) -> None:
        path = f"/console/cases/{body.verify_token}/review"
        answers.append(client.post(path, decision=decision, reason=reason).status_code)

    threads = [
        threading.Thread(target=decide, args=(rita, "approve", "same_person")),
        threading.Thread(target=decide, args=(adam, "reject", "suspected_fraud")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [303, 409]
    final = describe(env, "Held", "held-race")["VerifyStatus"]
    assert final in (1, 7)
    receiver.wait_for(lambda: bool(receiver.for_biz("held-race")))
    time.sleep(1.0)
    assert [h.doc["VerifyStatus"] for h in receiver.for_biz("held-race")] == [final]
    rita.close()
    adam.close()


def test_admin_override_is_audited_and_reviewer_cannot(env, host: ImageHost, receiver: Receiver) -> None:
    body = verify(env, host, "Plain", "override-1", "obama2.jpg")
    assert body.verify_status == 7
    rita, adam = console(env, "rita"), console(env, "adam")
    path = f"/console/cases/{body.verify_token}/override"
    assert rita.post(path, status="1", reason="customer_dispute", comment="x").status_code == 403
    assert adam.post(path, status="1", reason="customer_dispute", comment="").status_code == 400
    assert (
        adam.post(path, status="1", reason="customer_dispute", comment="ID checked in person").status_code
        == 303
    )
    assert describe(env, "Plain", "override-1")["VerifyStatus"] == 1
    receiver.wait_for(lambda: any(h.doc["VerifyStatus"] == 1 for h in receiver.for_biz("override-1")))
    audit = adam.get("/console/audit", action="case.override")
    assert audit.status_code == 200 and body.verify_token in audit.text and "console:adam" in audit.text
    rita.close()
    adam.close()


def test_another_tenants_reviewer_cannot_reach_the_case(env, host: ImageHost) -> None:
    body = verify(env, host, "Held", "held-3", "obama2.jpg")
    gina = console(env, "gina")
    assert gina.get(f"/console/cases/{body.verify_token}").status_code == 404
    assert "held-3" not in gina.get("/console/queue").text
    found = gina.get("/console/records", biz_id="held-3").text
    assert "No records match." in found and body.verify_token not in found
    refused = gina.post(
        f"/console/cases/{body.verify_token}/review", decision="approve", reason="same_person"
    )
    assert refused.status_code == 404
    assert describe(env, "Held", "held-3")["VerifyStatus"] == -1
    gina.close()


def test_sign_in_is_throttled_and_forms_need_their_csrf_token(env) -> None:
    srv, _, _ = env
    create_user(srv, "tess", "auditor", "acme")
    client = ConsoleClient(srv)
    for _ in range(5):
        assert client.sign_in("tess", "wrong-password-123").status_code == 401
    assert client.sign_in("tess", "wrong-password-123").status_code == 429
    client.close()
    rita = console(env, "rita")
    no_token = rita.http.post("/console/logout", data={})
    assert no_token.status_code == 403
    foreign = rita.http.post(
        "/console/logout", data={"csrf": rita.csrf}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    cookie = next(c for c in rita.http.cookies.jar if c.name == "shiren_console")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/console"
    rita.close()
