"""Face models on real photographs: detection, landmarks, quality, mask, embeddings and scores."""

from __future__ import annotations

import importlib.util
import re
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from shiren.domain.scores import similarity_score
from shiren.engine.face import registry
from shiren.engine.face.detector import FaceDetector, MediaPipeFaceDetector
from shiren.engine.face.embedder import DlibFaceEmbedder, FaceEmbedder
from shiren.engine.face.landmarks import FaceLandmarker, eye_aspect_ratio, landmark_pose, mouth_open_ratio
from shiren.engine.face.onnx_embedder import OnnxDlibFaceEmbedder, converted_model_path, load_or_convert
from shiren.engine.face.quality import assess_quality
from shiren.engine.face.registry import make_detector, make_embedder
from shiren.engine.face.types import DetectedFace
from shiren.engine.models import Models
from shiren.services.faces import analyse_face
from shiren.settings import get_settings

try:  # repository root on sys.path
    from tests.fixtures.masks import draw_flat_mask
    from tests.fixtures.photos import photo
except ImportError:  # pytest's rootdir-relative import (tests/ on sys.path)
    from fixtures.masks import draw_flat_mask  # type: ignore[no-redef]
    from fixtures.photos import photo  # type: ignore[no-redef]

LIGHT_BLUE = (235, 206, 135)  # BGR


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    names = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")
    return {n: cv2.imread(str(photo(n))) for n in names}


@pytest.fixture(scope="module")
def detector(models: Models) -> FaceDetector:
    return models.detector


@pytest.fixture(scope="module")
def landmarker(models: Models) -> FaceLandmarker:
    return models.landmarker


@pytest.fixture(scope="module")
def embedder() -> DlibFaceEmbedder:
    """The plain dlib embedder (the bundle's default is dlib-onnx): the reference the ONNX port must match."""
    emb = make_embedder("dlib")
    assert isinstance(emb, DlibFaceEmbedder) and isinstance(emb, FaceEmbedder)
    return emb


def the_face(detector: FaceDetector, image: np.ndarray) -> DetectedFace:
    faces = detector.detect(image)
    assert faces, "no face found"
    return faces[0]


def face_on_card(
    image: np.ndarray, face: DetectedFace, face_width: int
) -> tuple[np.ndarray, tuple[float, float]]:
    """A 640x480 grey 'card' with a small portrait of the face pasted near its lower right corner."""
    scale = face_width / face.box.w
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cx, cy = (c * scale for c in face.box.center)
    pw, ph = int(face_width * 1.6), int(face_width * 2.0)
    x0, y0 = int(max(cx - pw / 2, 0)), int(max(cy - ph / 2, 0))
    portrait = small[y0 : y0 + ph, x0 : x0 + pw]
    card = np.full((480, 640, 3), 200, np.uint8)
    ox, oy = 420, 250
    card[oy : oy + portrait.shape[0], ox : ox + portrait.shape[1]] = portrait
    return card, (ox + cx - x0, oy + cy - y0)


# --- detection -------------------------------------------------------------------------------------------


def test_detector_finds_exactly_one_face_in_obama(
    detector: FaceDetector, images: dict[str, np.ndarray]
) -> None:
    faces = detector.detect(images["obama.jpg"])
    assert len(faces) == 1
    f = faces[0]
    assert f.box.w > 200 and f.box.score > 0.8
    assert f.keypoints.shape == (6, 2)
    # the eyes lie in the upper half of the box, the mouth in the lower half
    assert f.keypoints[0, 1] < f.box.center[1] < f.keypoints[3, 1]


@pytest.mark.parametrize("name", ["obama2.jpg", "obama3.jpg", "biden.jpg"])
def test_detector_finds_the_face(detector: FaceDetector, images: dict[str, np.ndarray], name: str) -> None:
    faces = detector.detect(images[name])
    assert len(faces) >= 1
    assert faces[0].box.w > 200


@pytest.mark.parametrize("fraction", [0.15, 0.10])
def test_detector_finds_a_small_portrait_on_a_card(
    detector: FaceDetector, images: dict[str, np.ndarray], fraction: float
) -> None:
    ob = images["obama.jpg"]
    card, centre = face_on_card(ob, the_face(detector, ob), int(640 * fraction))
    faces = detector.detect(card)
    assert len(faces) == 1
    cx, cy = faces[0].box.center
    assert abs(cx - centre[0]) < 15 and abs(cy - centre[1]) < 15
    assert abs(faces[0].box.w - 640 * fraction) < 0.3 * 640 * fraction


def test_detector_sorts_largest_first(detector: FaceDetector, images: dict[str, np.ndarray]) -> None:
    big = cv2.resize(images["obama.jpg"], (455, 568))
    small = cv2.resize(images["biden.jpg"], (180, 409))
    canvas = np.full((600, 700, 3), 180, np.uint8)
    canvas[10:578, 10:465] = big
    canvas[100:509, 500:680] = small
    faces = detector.detect(canvas)
    assert len(faces) == 2
    assert faces[0].box.area > faces[1].box.area
    assert faces[0].box.center[0] < 465 < faces[1].box.center[0]


def test_detector_handles_grey_and_no_face(detector: FaceDetector, images: dict[str, np.ndarray]) -> None:
    grey = cv2.cvtColor(images["obama.jpg"], cv2.COLOR_BGR2GRAY)
    assert len(detector.detect(grey)) == 1
    assert detector.detect(np.full((480, 640, 3), 127, np.uint8)) == []
    with pytest.raises(ValueError):
        detector.detect(np.zeros((10, 10), np.float32))


def test_detector_is_thread_safe(detector: FaceDetector, images: dict[str, np.ndarray]) -> None:
    expected = {n: detector.detect(im)[0].box for n, im in images.items()}
    errors: list[str] = []

    def work(name: str) -> None:
        for _ in range(3):
            box = detector.detect(images[name])[0].box
            if abs(box.x - expected[name].x) > 1 or abs(box.w - expected[name].w) > 1:
                errors.append(name)

    threads = [threading.Thread(target=work, args=(n,)) for n in images]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- the model bundle ------------------------------------------------------------------------------------


class FakeDetector:
    """Counts its calls and finds no face (the real detector finds one in every fixture photo)."""

    name, version = "fake-detector", "0"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        self.calls += 1
        return []


class FakeEmbedder:
    name, version, dim = "fake-embedder", "7", 128

    def __init__(self) -> None:
        self.vector = np.full(128, 1 / np.sqrt(128), np.float32)

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        return self.vector


def test_bundle_returns_the_same_instance_on_each_access(models: Models) -> None:
    assert isinstance(models.detector, MediaPipeFaceDetector) and models.detector is models.detector
    assert isinstance(models.embedder, OnnxDlibFaceEmbedder) and models.embedder is models.embedder
    assert isinstance(models.landmarker, FaceLandmarker) and models.landmarker is models.landmarker
    assert models.ocr is models.ocr


def test_bundle_loads_each_model_on_first_use_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeDetector] = []

    def slow_factory() -> FakeDetector:
        time.sleep(0.05)  # a real model takes hundreds of ms: concurrent first uses overlap
        made.append(FakeDetector())
        return made[-1]

    monkeypatch.setitem(registry.DETECTORS, "slow", slow_factory)
    bundle = Models(detector="slow")
    assert made == [], "building a bundle loads nothing"
    seen: list[FaceDetector] = []
    start = threading.Barrier(8)

    def first_use() -> None:
        start.wait()
        seen.append(bundle.detector)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and len(made) == 1 and all(d is made[0] for d in seen)
    assert bundle.detector is made[0]
    # nothing is process-global: another bundle, or a factory call, makes a new instance
    assert Models(detector="slow").detector is not made[0] and len(made) == 2
    assert make_detector("slow") is not made[0] and len(made) == 3


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ({"embedder": "nope"}, "unknown face embedder 'nope'; available: dlib, dlib-onnx"),
        ({"detector": "yunet"}, "unknown face detector 'yunet'; available: mediapipe"),
        ({"landmarker": "dlib68"}, "unknown face landmarker 'dlib68'; available: mediapipe"),
        ({"ocr": "tesseract"}, "unknown OCR plugin 'tesseract'; available: rapidocr"),
    ],
)
def test_unknown_model_name_fails_when_the_bundle_is_built(names: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Models(**names)


def test_factories_reject_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown face embedder 'nope'"):
        make_embedder("nope")
    with pytest.raises(ValueError, match="unknown face detector 'yunet'"):
        make_detector("yunet")


def test_versions_name_every_model_and_its_exact_version(models: Models) -> None:
    versions = models.versions()
    assert set(versions) == {"face_detector", "face_embedder", "face_landmarker", "ocr"}
    assert versions["face_detector"].startswith("mediapipe:blazeface")
    assert versions["face_embedder"].startswith("dlib-onnx:dlib_face_recognition_resnet_model_v1:")
    assert "68" not in versions["face_embedder"]
    assert versions["face_landmarker"].startswith("mediapipe-facemesh:facemesh")
    assert versions["ocr"].startswith("rapidocr:rapidocr-onnxruntime ")
    assert models.embedder_id == versions["face_embedder"]
    # the configured embedder is the one the bundle builds by default
    assert versions["face_embedder"].startswith(f"{get_settings().face_embedder}:")


def test_bundle_of_given_instances_uses_them(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray]
) -> None:
    ob = images["obama.jpg"]
    fake = FakeDetector()
    only_fake = Models.of(detector=fake)
    assert only_fake.detector is fake
    assert analyse_face(only_fake, ob) is None  # the fake finds no face where the real detector finds one
    assert fake.calls == 1
    emb = FakeEmbedder()
    bundle = Models.of(detector=detector, embedder=emb, landmarker=landmarker)
    assert bundle.embedder is emb and bundle.embedder_id == "fake-embedder:7"
    analysis = analyse_face(bundle, ob)
    assert analysis is not None and analysis.faces_found == 1
    assert analysis.embedding is not None and np.array_equal(analysis.embedding, emb.vector)


# --- landmarks -------------------------------------------------------------------------------------------


def test_landmarks_and_signals(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray]
) -> None:
    lmk = landmarker
    ob = images["obama.jpg"]
    face = the_face(detector, ob)
    lm = lmk.landmarks(ob, face)
    assert lm is not None and lm.shape == (478, 3)
    # landmarks lie on the face
    assert np.all((lm[:, 0] > face.box.x - 0.2 * face.box.w) & (lm[:, 0] < face.box.x + 1.2 * face.box.w))
    right, left = eye_aspect_ratio(lm)
    assert 0.15 < right < 0.45 and 0.15 < left < 0.45  # eyes open
    assert 0.1 < mouth_open_ratio(lm) < 0.4  # smiling, lips apart
    assert (
        mouth_open_ratio(lmk.landmarks(images["biden.jpg"], the_face(detector, images["biden.jpg"]))) < 0.05
    )
    yaw, pitch = landmark_pose(lm)
    assert abs(yaw) < 0.1 and abs(pitch) < 0.15
    # turning the photo into its mirror image flips the yaw proxy of a turned face
    ob2 = images["obama2.jpg"]
    yaw2, _ = landmark_pose(lmk.landmarks(ob2, the_face(detector, ob2)))
    mirrored = np.ascontiguousarray(ob2[:, ::-1])
    yaw2m, _ = landmark_pose(lmk.landmarks(mirrored, the_face(detector, mirrored)))
    assert abs(yaw2) > 0.1 and np.sign(yaw2) == -np.sign(yaw2m)


def test_landmarks_detect_closed_eyes(detector: FaceDetector, images: dict[str, np.ndarray]) -> None:
    """Paint skin over the eyes: the eye aspect ratio must collapse, as in a blink."""
    from shiren.engine.face.landmarks import LEFT_EYE, RIGHT_EYE

    ob = images["obama.jpg"].copy()
    lmk = FaceLandmarker(static_image_mode=True)
    face = the_face(detector, ob)
    lm = lmk.landmarks(ob, face)
    assert lm is not None
    for idx in (RIGHT_EYE, LEFT_EYE):
        pts = lm[list(idx), :2]
        c = pts.mean(axis=0)
        skin = ob[int(c[1] + 0.25 * face.box.h * 0.3), int(c[0])].tolist()
        hull = cv2.convexHull(np.round(c + (pts - c) * 1.5).astype(np.int32))
        cv2.fillPoly(ob, [hull], skin)
        cv2.line(
            ob, tuple(np.round(pts[0]).astype(int)), tuple(np.round(pts[3]).astype(int)), (40, 30, 30), 3
        )
    closed = lmk.landmarks(ob, face)
    assert closed is not None
    assert max(eye_aspect_ratio(closed)) < 0.6 * min(eye_aspect_ratio(lm))
    lmk.close()


# --- quality and mask ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"])
def test_quality_of_plain_photos(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray], name: str
) -> None:
    img = images[name]
    q = assess_quality(img, the_face(detector, img), landmarker)
    assert q.mask is False
    assert q.level in ("NORMAL", "HIGH"), q
    if name == "obama.jpg":
        assert q.face_px > 250 and q.blur > 100 and 100 < q.brightness < 200


def test_quality_unqualified_when_the_face_is_40_px(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray]
) -> None:
    ob = images["obama.jpg"]
    scale = 40 / the_face(detector, ob).box.w
    small = cv2.resize(ob, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.copyMakeBorder(small, 100, 100, 100, 100, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    face = the_face(detector, small)
    assert face.size_px < 50
    q = assess_quality(small, face, landmarker)
    assert q.level == "UNQUALIFIED" and "face_too_small" in q.reasons


def test_quality_low_when_blurred_or_dark(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray]
) -> None:
    ob = images["obama.jpg"]
    original = the_face(detector, ob)
    blurred = cv2.GaussianBlur(ob, (0, 0), 8)
    q = assess_quality(blurred, (detector.detect(blurred) or [original])[0], landmarker)
    assert q.level in ("LOW", "UNQUALIFIED") and "blurred" in q.reasons
    dark = (ob.astype(np.float32) * 0.15).astype(np.uint8)
    q = assess_quality(dark, (detector.detect(dark) or [original])[0], landmarker)
    assert q.level in ("LOW", "UNQUALIFIED") and "too_dark" in q.reasons
    bright = cv2.convertScaleAbs(ob, alpha=2.0, beta=90)
    q = assess_quality(bright, (detector.detect(bright) or [original])[0], landmarker)
    assert q.level in ("LOW", "UNQUALIFIED") and "too_bright" in q.reasons


def test_quality_low_when_heavily_compressed(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray]
) -> None:
    ob = cv2.resize(images["obama.jpg"], (455, 568), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", ob, [cv2.IMWRITE_JPEG_QUALITY, 8])
    assert ok
    blocky = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    q = assess_quality(blocky, the_face(detector, blocky), landmarker)
    assert q.blockiness > 2.2 and "compressed" in q.reasons and q.level in ("LOW", "UNQUALIFIED")
    assert assess_quality(ob, the_face(detector, ob), landmarker).blockiness < 1.6


def test_quality_cut_off_face(detector: FaceDetector, landmarker: FaceLandmarker) -> None:
    img = cv2.imread(str(photo("obama_partial_face.jpg")))
    q = assess_quality(img, the_face(detector, img), landmarker)
    assert q.level in ("LOW", "UNQUALIFIED") and "face_cut_off" in q.reasons


@pytest.mark.parametrize("name", ["obama.jpg", "obama2.jpg", "biden.jpg"])
def test_mask_is_detected(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray], name: str
) -> None:
    img = images[name]
    masked = draw_flat_mask(img, the_face(detector, img).keypoints, LIGHT_BLUE)
    faces = detector.detect(masked)
    assert faces, "the masked face must still be detected"
    q = assess_quality(masked, faces[0], landmarker)
    assert q.mask is True and q.mask_score >= 0.5
    assert q.level in ("LOW", "UNQUALIFIED") and "mask" in q.reasons


def test_white_mask_is_detected(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray]
) -> None:
    img = images["obama3.jpg"]
    masked = draw_flat_mask(img, the_face(detector, img).keypoints, (238, 238, 238))
    assert assess_quality(masked, the_face(detector, masked), landmarker).mask is True


def test_quality_without_a_landmarker_skips_the_dense_landmarks_and_the_mask_check(
    detector: FaceDetector, landmarker: FaceLandmarker, images: dict[str, np.ndarray]
) -> None:
    img = images["obama.jpg"]
    masked = draw_flat_mask(img, the_face(detector, img).keypoints, LIGHT_BLUE)
    face = the_face(detector, masked)
    q = assess_quality(masked, face)
    assert face.landmarks is None
    assert q.mask is False and q.mask_score == 0.0
    assert q.level == "LOW" and "no_landmarks" in q.reasons
    # with the landmarker the same face gets its landmarks (kept for later steps) and is found masked
    q = assess_quality(masked, face, landmarker)
    assert face.landmarks is not None and face.landmarks.shape == (478, 3)
    assert q.mask is True and "no_landmarks" not in q.reasons


# --- embeddings and scores -------------------------------------------------------------------------------


def test_embedder_shape_and_norm(
    embedder: DlibFaceEmbedder, detector: FaceDetector, images: dict[str, np.ndarray]
) -> None:
    ob = images["obama.jpg"]
    e = embedder.embed(ob, the_face(detector, ob))
    assert e.shape == (embedder.dim,) == (128,)
    assert e.dtype == np.float32
    assert abs(float(np.linalg.norm(e)) - 1.0) < 1e-5
    # deterministic
    assert np.array_equal(e, embedder.embed(ob, the_face(detector, ob)))


def test_same_person_scores_high_and_different_person_low(
    embedder: DlibFaceEmbedder, detector: FaceDetector, images: dict[str, np.ndarray]
) -> None:
    emb = {n: embedder.embed(im, the_face(detector, im)) for n, im in images.items()}

    def score(a: str, b: str) -> float:
        return similarity_score(float(np.linalg.norm(emb[a] - emb[b])), embedder.name)

    assert score("obama.jpg", "obama2.jpg") >= 80
    assert score("obama.jpg", "obama3.jpg") >= 80
    for other in ("obama.jpg", "obama2.jpg", "obama3.jpg"):
        assert score(other, "biden.jpg") < 60


def test_embedding_tolerates_box_jitter(
    embedder: DlibFaceEmbedder, detector: FaceDetector, images: dict[str, np.ndarray]
) -> None:
    """The dlib rectangle only seeds the 5-point predictor: a box moved by 5 % gives about the same vector."""
    from shiren.engine.face.types import FaceBox

    ob = images["obama.jpg"]
    f = the_face(detector, ob)
    b = f.box
    moved = DetectedFace(
        FaceBox(b.x + 0.05 * b.w, b.y - 0.05 * b.h, b.w * 1.05, b.h * 1.05, b.score), f.keypoints
    )
    assert float(np.linalg.norm(embedder.embed(ob, f) - embedder.embed(ob, moved))) < 0.08


# --- dlib-onnx: the same network in onnxruntime ----------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_embedder(models: Models, model_cache: Path) -> OnnxDlibFaceEmbedder:
    """The bundle's default embedder, converted once into the session's model cache."""
    if not converted_model_path(model_cache).exists():
        pytest.importorskip("onnx", reason="the one-off conversion needs the onnx package")
    emb = models.embedder
    assert isinstance(emb, OnnxDlibFaceEmbedder)
    return emb


def test_dlib_reader_parses_the_whole_network() -> None:
    from shiren.engine.face.dlib_dnn import read_dlib_net
    from shiren.engine.face.embedder import dlib_model_paths

    net = read_dlib_net(dlib_model_paths()[0])
    kinds = [layer.kind for layer in net.layers]
    assert net.input_size == (150, 150) and net.loss == "loss_metric_2"
    assert kinds.count("con") == 29 and kinds.count("affine") == 29 and kinds.count("add_prev") == 14
    assert kinds[-2:] == ["avg_pool", "fc"]
    fc = net.layers[-1]
    assert fc.weights is not None and fc.weights.shape == (256, 128) and fc.bias is None


def test_onnx_embedder_matches_dlib(
    onnx_embedder: OnnxDlibFaceEmbedder,
    embedder: DlibFaceEmbedder,
    detector: FaceDetector,
    images: dict[str, np.ndarray],
) -> None:
    assert onnx_embedder.name == "dlib-onnx" and onnx_embedder.dim == 128
    assert isinstance(onnx_embedder, FaceEmbedder)
    for img in images.values():
        face = the_face(detector, img)
        a, b = embedder.embed(img, face), onnx_embedder.embed(img, face)
        assert float(np.dot(a, b)) >= 0.999
        assert abs(float(np.linalg.norm(b)) - 1.0) < 1e-5
    # the raw (unnormalised) descriptors agree too, so dlib's own distance scale carries over
    chip = embedder.aligner.chip(images["biden.jpg"], the_face(detector, images["biden.jpg"]))
    raw_dlib = embedder.embed_chip(chip)
    raw_onnx = onnx_embedder.embed_chip(chip)
    assert np.allclose(raw_dlib, raw_onnx, atol=1e-4)


def test_onnx_embedder_scores_and_batches(
    onnx_embedder: OnnxDlibFaceEmbedder, detector: FaceDetector, images: dict[str, np.ndarray]
) -> None:
    faces = {n: the_face(detector, im) for n, im in images.items()}
    emb = {n: onnx_embedder.embed(im, faces[n]) for n, im in images.items()}
    assert similarity_score(float(np.linalg.norm(emb["obama.jpg"] - emb["obama2.jpg"])), "dlib-onnx") >= 80
    assert similarity_score(float(np.linalg.norm(emb["obama.jpg"] - emb["biden.jpg"])), "dlib-onnx") < 60
    chips = np.stack([onnx_embedder.aligner.chip(images[n], faces[n]) for n in images])
    batch = onnx_embedder.embed_chips(chips)
    assert batch.shape == (len(images), 128)
    for row, n in zip(batch, images, strict=True):
        assert float(np.dot(row / np.linalg.norm(row), emb[n])) > 0.99999


def test_onnx_model_is_cached(onnx_embedder: OnnxDlibFaceEmbedder, model_cache: Path) -> None:
    cached = converted_model_path(model_cache)
    assert cached.parent == model_cache
    assert sorted(p.name for p in model_cache.glob("dlib_resnet_v1_*")) == [
        cached.name,
        cached.with_suffix(".sha256").name,
    ], "the converted model and its digest are written to the bundle's cache folder"
    assert load_or_convert(model_cache) == cached.read_bytes()
    # a damaged cache file is detected by its digest and replaced by a fresh conversion
    good = cached.read_bytes()
    cached.write_bytes(good[: len(good) // 2])
    if importlib.util.find_spec("onnx") is not None:
        assert load_or_convert(model_cache) == good
        assert cached.read_bytes() == good


def test_onnx_model_without_a_cache_dir_is_converted_in_memory(
    onnx_embedder: OnnxDlibFaceEmbedder, model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnx")
    monkeypatch.chdir(tmp_path)
    old_default = get_settings().data_dir / "models"  # where the converted model used to go by itself
    before = set(old_default.glob("*")) if old_default.exists() else set()
    assert load_or_convert(None) == converted_model_path(model_cache).read_bytes()
    assert list(tmp_path.iterdir()) == []
    assert (set(old_default.glob("*")) if old_default.exists() else set()) == before


def test_conversion_self_check_rejects_a_wrong_model() -> None:
    pytest.importorskip("onnx")
    from shiren.engine.face.dlib_dnn import read_dlib_net
    from shiren.engine.face.embedder import dlib_model_paths
    from shiren.engine.face.onnx_embedder import _self_check, build_onnx

    net = read_dlib_net(dlib_model_paths()[0])
    fc = net.layers[-1]
    assert fc.weights is not None
    fc.weights = fc.weights[:, ::-1].copy()  # scramble the output dimensions
    with pytest.raises(RuntimeError, match="does not match dlib"):
        _self_check(build_onnx(net).SerializeToString())
