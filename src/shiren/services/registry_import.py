"""Importing a roster into the ``registry`` authority: ``shiren registry import FILE.csv``.

Columns ``name,id_number,photo`` (photo path relative to the CSV). Bad rows are reported with their line
number and reason; good rows are kept (each row commits on its own). Re-importing a number replaces it.
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


def _prepare(runtime: Runtime, base: Path, row: dict[str, str]) -> tuple[str, str, bytes, str]:
    name, raw_number, photo_rel = row["name"], row["id_number"], row["photo"]
    if not name:
        raise BadRow("empty name")
    try:
        number = parse_id_number(raw_number).number
    except InvalidIdNumber as exc:
        raise BadRow(f"id_number: {exc}") from None
    if not photo_rel:
        raise BadRow("empty photo path")
    photo_path = (base / photo_rel).resolve()
    if not photo_path.is_file():
        raise BadRow(f"photo not found: {photo_rel}")
    try:
        image = decode_image(photo_path.read_bytes(), "photo", runtime.settings)
    except ImageRejected as exc:
        raise BadRow(exc.message) from None
    analysis = analyse_face(runtime.models, image.bgr)
    if analysis is None:
        raise BadRow("no face in the photo")
    if analysis.embedding is None:
        raise BadRow(f"face unusable ({', '.join(analysis.quality.reasons) or analysis.quality.level})")
    template = ",".join(f"{x:.7g}" for x in analysis.embedding.tolist())
    return name, number, reencode_jpeg(image), template


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
            name, number, jpeg, template = _prepare(runtime, path.parent, row)
        except BadRow as exc:
            report.bad.append((line, str(exc)))
        else:
            index = crypto.blind_index(number, INDEX_SCOPE)
            blob_id = runtime.blobs.put(jpeg)
            with runtime.sessions() as session, session.begin():
                existing = identity_by_index(session, tenant_id, index)
                old_blob = existing.photo_blob_id if existing else None
                identity = existing or RegistryIdentity(tenant_id=tenant_id, id_number_index=index)
                identity.name_enc = crypto.encrypt_field(name, f"registry.name:{index}")
                identity.id_number_enc = crypto.encrypt_field(number, f"registry.idn:{index}")
                identity.photo_blob_id = blob_id
                identity.template_enc = crypto.encrypt_field(template, f"registry.template:{index}")
                identity.template_model = model
                session.add(identity)
            if old_blob:
                runtime.blobs.delete(old_blob)
            report.imported += 1
        if progress:
            progress(1)
    return report
