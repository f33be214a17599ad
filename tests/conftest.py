from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ShirenServer, scratch_postgres

ALL_SCENES = [
    ("RPBasicTest", "RPBasic"),
    ("RPManualTest", "RPManual"),
    ("RPBioIDTest", "RPBioID"),
    ("RPBioOnlyTest", "RPBioOnly"),
    ("RPBioOnlyProTest", "RPBioOnlyPro"),
    ("RPH5Test", "RPH5BioOnly"),
    ("RPMinTest", "RPMin"),
    ("FVTest", "FVBioOnly"),
    ("FDTest", "FDBioOnly"),
]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShirenServer]:
    """One real server for the session; tests create their own tenants on it."""
    srv = ShirenServer(tmp_path_factory.mktemp("shiren-data"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def tenant_a(server: ShirenServer) -> dict[str, str]:
    return server.new_tenant("tenant-a", ALL_SCENES, redirect_origin="https://app.example.com")


@pytest.fixture(scope="session")
def tenant_b(server: ShirenServer) -> dict[str, str]:
    return server.new_tenant("tenant-b", [("RPBasicTest", "RPBasic")])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (the machine's local server), dropped afterwards."""
    with scratch_postgres() as url:
        yield url
