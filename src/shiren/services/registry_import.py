"""Importing a roster into the ``registry`` authority: ``shiren registry import FILE.csv``.

Columns ``name,id_number,photo`` (photo path relative to the CSV). Rows without a valid name and number
are refused, with their line number and reason; the others are kept (each row commits on its own), even
when their photo is missing or shows no usable face: the identity is real, and a verification against it
must say "reference photo unusable" (11), not "unknown identity" (2). Such rows are listed too, so the
operator can supply a better photo. Re-importing a number replaces it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shiren.authority.registry import INDEX_SCOPE
from shiren.domain.idnumber import InvalidIdNumber, parse_id_number
from shiren.intake import ImageRejected, decode_image, reencode_jpeg
from shiren.runtime import Runtime
from shiren.services.faces import analyse_face
from shiren.storage.models import RegistryIdentity
from shiren.storage.repo.registry import identity_by_index
from shiren.storage.repo.tenants import get_or_create_tenant

REQUIRED_COLUMNS = ("name", "id_number", "photo")


@dataclass
class ImportReport:
    imported: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason); never the values
    # Imported without a usable reference photo: (line number, what is wrong with the photo).
    unusable_photos: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    name: str
    number: str
    jpeg: bytes | None  # the reference photo, re-encoded; None when it is missing or unreadable
    template: str | None  # its face template; None when no usable face
    photo_problem: str | None


class BadRow(ValueError):
    pass


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{path.name}: missing column(s) {', '.join(missing)}; need name,id_number,photo"
            )
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def _photo(runtime: Runtime, base: Path, photo_rel: str) -> tuple[bytes | None, str | None, str | None]:
    """The re-encoded photo, its face template and what is wrong with it (each None when not)."""
    if not photo_rel:
        return None, None, "empty photo path"
    photo_path = (base / photo_rel).resolve()
    if not photo_path.is_file():
        return None, None, f"photo not found: {photo_rel}"
    try:
        image = decode_image(photo_path.read_bytes(), "photo", runtime.settings)
    except ImageRejected as exc:
        return None, None, exc.message
    jpeg = reencode_jpeg(image)
    analysis = analyse_face(runtime.models, image.bgr)
    if analysis is None:
        return jpeg, None, "no face in the photo"
    if analysis.embedding is None:
        return jpeg, None, f"face unusable ({', '.join(analysis.quality.reasons) or analysis.quality.level})"
    return jpeg, ",".join(f"{x:.7g}" for x in analysis.embedding.tolist()), None


def _prepare(runtime: Runtime, base: Path, row: dict[str, str]) -> _Row:
    name, raw_number = row["name"], row["id_number"]
    if not name:
        raise BadRow("empty name")
    try:
        number = parse_id_number(raw_number).number
    except InvalidIdNumber as exc:
        raise BadRow(f"id_number: {exc}") from None
    jpeg, template, problem = _photo(runtime, base, row["photo"])
    return _Row(name, number, jpeg, template, problem)


def import_csv(
    runtime: Runtime, tenant: str, path: Path, progress: Callable[[int], None] | None = None
) -> ImportReport:
    report = ImportReport()
    crypto = runtime.crypto
    model = runtime.models.embedder_id
    with runtime.sessions() as session, session.begin():
        tenant_id = get_or_create_tenant(session, tenant).id
    for line, row in read_rows(path):
        try:
            prepared = _prepare(runtime, path.parent, row)
        except BadRow as exc:
            report.bad.append((line, str(exc)))
        else:
            name, number, template = prepared.name, prepared.number, prepared.template
            if prepared.photo_problem:
                report.unusable_photos.append((line, prepared.photo_problem))
            index = crypto.blind_index(number, INDEX_SCOPE)
            blob_id = runtime.blobs.put(prepared.jpeg) if prepared.jpeg is not None else None
            with runtime.sessions() as session, session.begin():
                existing = identity_by_index(session, tenant_id, index)
                old_blob = existing.photo_blob_id if existing else None
                identity = existing or RegistryIdentity(tenant_id=tenant_id, id_number_index=index)
                identity.name_enc = crypto.encrypt_field(name, f"registry.name:{index}")
                identity.id_number_enc = crypto.encrypt_field(number, f"registry.idn:{index}")
                identity.photo_blob_id = blob_id
                identity.template_enc = crypto.encrypt_field(template, f"registry.template:{index}")
                identity.template_model = model if template is not None else None
                session.add(identity)
            if old_blob:
                runtime.blobs.delete(old_blob)
            report.imported += 1
        if progress:
            progress(1)
    return report
