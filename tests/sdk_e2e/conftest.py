"""One real server for the SDK end-to-end tests, with scenes of every SDK scheme and a registry roster.

The package-wide ``server`` fixture cannot fetch images from a local host (FaceRetainedImageUrl), so this
package starts its own server with ``SHIREN_FETCH_ALLOW_HOSTS`` naming the test image host. Everyone's
face is the same real person (obama*.jpg from tests/fixtures/photos.py): the liveness video, the ID card
portrait and the roster photo, so that the pass cases pass on their merits at the default threshold 80.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import cv2
import pytest

from shiren.domain.idnumber import random_id_number
from tests.fixtures.photos import photo
from tests.peers import ImageHost, Receiver
from tests.support import ShirenServer

RNG = random.Random(20261129)
HOLDER = "王建国"
HOLDER_ID = random_id_number(RNG, birth=date(1970, 3, 15), sex="男")
STRANGER_ID = random_id_number(RNG, birth=date(1988, 1, 2), sex="女")
FACE = "obama.jpg"  # the person in front of the camera (and on the card, and in the roster)
OTHER_FACE = "biden.jpg"  # somebody else

# (BizType, scheme, extra `scene create` options)
SCENES: list[tuple[str, str, tuple[str, ...]]] = [
    ("Basic", "RPBasic", ()),
    ("Manual", "RPManual", ("--authority", "registry")),
    ("BioID", "RPBioID", ()),
    ("BioOnly", "RPBioOnly", ("--authority", "registry")),
    ("BioOnlyPro", "RPBioOnlyPro", ("--authority", "registry")),
    ("FV", "FVBioOnly", ()),
    ("FD", "FDBioOnly", ()),
    # One action at a fixed moment: a replayed capture fits the second challenge too; only replay detection
    # stops it.
    ("FDBlink", "FDBioOnly", ("--liveness-actions", "blink", "--liveness-count", "1", "--untimed-liveness")),
]


@dataclass
class Env:
    server: ShirenServer
    key: dict[str, str]  # tenant "sdk"
    key_b: dict[str, str]  # tenant "sdk-b": another integrator, with an FD scene of the same BizType
    host: ImageHost
    receiver: Receiver  # the integrator's callback endpoint


@pytest.fixture(scope="package")
def host() -> Iterator[ImageHost]:
    h = ImageHost()
    yield h
    h.close()


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="package")
def env(tmp_path_factory: pytest.TempPathFactory, host: ImageHost, receiver: Receiver) -> Iterator[Env]:
    allowed = f"{host.authority},{receiver.authority}"
    # Every flow films the same photograph doing the same few actions: the same pictures again, which the
    # content replay check (capture_content_fresh) would refuse; tests/services covers that check.
    server_env = {"SHIREN_FETCH_ALLOW_HOSTS": allowed, "SHIREN_CONTENT_REPLAY_CHECK": "false"}
    srv = ShirenServer(tmp_path_factory.mktemp("sdk-e2e"), env=server_env)
    srv.start()
    try:
        keys = {"sdk": srv.new_tenant("sdk"), "sdk-b": srv.new_tenant("sdk-b", [("FD", "FDBioOnly")])}
        # Each command is a process that imports shiren (~1-2 s): create the scenes side by side.
        with ThreadPoolExecutor(4) as pool:
            list(
                pool.map(
                    lambda scene: srv.cli_json(
                        "scene", "create", scene[0], "--scheme", scene[1], "--tenant", "sdk", *scene[2]
                    ),
                    SCENES,
                )
            )
        roster = tmp_path_factory.mktemp("sdk-roster")
        cv2.imwrite(str(roster / "holder.jpg"), cv2.imread(str(photo(FACE))))
        with open(roster / "roster.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["name", "id_number", "photo"], [HOLDER, HOLDER_ID, "holder.jpg"]])
        report = srv.cli_json("registry", "import", str(roster / "roster.csv"), "--tenant", "sdk")
        assert report["Imported"] == 1
        yield Env(srv, keys["sdk"], keys["sdk-b"], host, receiver)
    finally:
        srv.stop()
