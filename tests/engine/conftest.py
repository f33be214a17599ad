"""Models shared by the engine tests: each one loads once per session (hundreds of ms, tens of MB), as in a
server process, and is handed to the code under test like the runtime does."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiren.engine.models import Models


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's converted weights (dlib-onnx) are cached: never the checkout's data dir."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def models(model_cache: Path) -> Models:
    """The default bundle (mediapipe, dlib-onnx, mediapipe FaceMesh, rapidocr), loading each on first use."""
    return Models(cache_dir=model_cache)
