"""The S3 profile end to end: a real server whose blobs live in a real S3 server (SeaweedFS, started here).

One VerifyMaterial (RPMin, registry authority) through the official SDK; its images land in the bucket
sealed, nothing in the local data dir; DeleteVerifyResult removes its objects and kills its link.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date
from typing import Any

import cv2
import httpx
import pytest

from shiren.domain.idnumber import random_id_number
from tests.fixtures.photos import photo
from tests.peers import ImageHost
from tests.s3server import SeaweedS3
from tests.sdk import core_call, models, tea
from tests.support import ShirenServer

HOLDER = "王建国"
HOLDER_ID = random_id_number(random.Random(20261202), birth=date(1970, 3, 15), sex="男")
SCENE = "MinS3"


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedS3]:
    s3 = SeaweedS3(bucket="shiren-profile")
    s3.start()
    yield s3
    s3.stop()


@pytest.fixture(scope="module")
def host() -> Iterator[ImageHost]:
    h = ImageHost()
    yield h
    h.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, seaweed: SeaweedS3, host: ImageHost):
    srv = ShirenServer(
        tmp_path_factory.mktemp("s3-profile"),
        env={**seaweed.env(), "SHIREN_FETCH_ALLOW_HOSTS": host.authority},
    )
    srv.start()
    key = srv.new_tenant("s3t", [(SCENE, "RPMin")], authority="registry")
    roster = tmp_path_factory.mktemp("s3-roster")
    cv2.imwrite(str(roster / "holder.jpg"), cv2.imread(str(photo("obama.jpg"))))
    with open(roster / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "id_number", "photo"])
        w.writerow([HOLDER, HOLDER_ID, "holder.jpg"])
    assert srv.cli_json("registry", "import", str(roster / "roster.csv"), "--tenant", "s3t")["Imported"] == 1
    yield srv, key
    srv.stop()


def objects(seaweed: SeaweedS3) -> dict[str, bytes]:
    client = seaweed.client()
    keys = [
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=seaweed.bucket)
        for o in page.get("Contents", [])
    ]
    return {k: client.get_object(Bucket=seaweed.bucket, Key=k)["Body"].read() for k in keys}


def local_files(srv: ShirenServer) -> list[Any]:
    return [p for p in (srv.data_dir / "blobs").rglob("*") if p.is_file()]


def test_verify_material_keeps_sealed_objects_in_the_bucket_and_erasure_removes_them(
    env, seaweed: SeaweedS3, host: ImageHost
) -> None:
    srv, key = env
    registry = objects(seaweed)
    assert len(registry) == 1  # the roster photo, imported by the command line into the same bucket
    face = photo("obama2.jpg").read_bytes()

    body = (
        tea(srv, key)
        .verify_material(
            models.VerifyMaterialRequest(
                biz_id="s3-1",
                biz_type=SCENE,
                name=HOLDER,
                id_card_number=HOLDER_ID,
                face_image_url=host.put("face.jpg", face),
            )
        )
        .body
    )

    assert body.verify_status == 1, body.to_map()
    link = body.material.face_image_url
    image = httpx.get(link)
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    assert local_files(srv) == []
    stored = objects(seaweed)
    mine = set(stored) - set(registry)
    assert len(mine) > 0 and set(registry) <= set(stored)
    holder = photo("obama.jpg").read_bytes()
    for name, sealed in stored.items():
        assert not sealed.startswith(b"\xff\xd8"), name
        for plain in (face, image.content, holder):
            assert plain not in sealed and plain[1024:2048] not in sealed, name

    answer = core_call(srv, key, "DeleteVerifyResult", BizType=SCENE, BizId="s3-1")

    assert answer["Deleted"] == 1
    assert set(objects(seaweed)) == set(registry)
    gone = httpx.get(link)
    assert gone.status_code == 403
    assert local_files(srv) == []
