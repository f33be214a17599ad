"""Searching the records: the console's list of verifications, and its CSV export.

Names and numbers are masked in every list and export, whoever looks (the case view shows them to who
may see them, and records that view): a list of fifty people is not a reason to read fifty identities.
An export is audited with its filters and its size.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shiren.domain.decision import STATUS_MESSAGES
from shiren.domain.faceverify import sub_code
from shiren.domain.masking import mask_id_number, mask_name
from shiren.domain.review import HELD, OVERRIDDEN, REVIEWED
from shiren.domain.roles import Actor, Permission
from shiren.runtime import Runtime
from shiren.services.errors import Invalid
from shiren.storage.models import Attempt
from shiren.storage.repo import audit
from shiren.storage.repo import records as repo
from shiren.storage.repo.tasks import DataErased, attempt_identity, user_index

COUNT_CAP = 10_000
EXPORT_CAP = 10_000
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
# SubCode → the VerifyStatuses it can come from (201 and 202 split one status by the evidence).
SUB_CODE_STATUSES: dict[str, tuple[int, ...]] = {
    "200": (1,),
    "201": (2,),
    "202": (2,),
    "203": (11,),
    "204": (6, 7, 10),
    "205": (9,),
}
REVIEW_STATES = (HELD, REVIEWED, OVERRIDDEN)


@dataclass(frozen=True)
class RecordSearch:
    """The search form, as typed (every field optional; the service checks them)."""

    tenant_id: int | None = None
    biz_id: str = ""
    token: str = ""
    scene_id: int | None = None
    status: str = ""
    sub_code: str = ""
    review: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    user_id: str = ""

    def filters(self) -> dict[str, str]:
        """The non-empty fields, as the audit trail and the page's links keep them."""
        return {k: str(v) for k, v in asdict(self).items() if v not in (None, "")}


@dataclass(frozen=True)
class RecordRow:
    token: str
    tenant: str
    biz_id: str
    biz_type: str
    scene_name: str
    family: str  # "RP" or the face-verify ProductCode
    created_at: datetime
    decided_at: datetime | None
    state: str
    status: int
    status_text: str
    sub_code: str | None
    review_state: str | None
    name: str  # masked
    id_number: str  # masked


@dataclass(frozen=True)
class RecordPage:
    rows: list[RecordRow]
    next_cursor: str | None
    total: int  # at most COUNT_CAP
    total_capped: bool
    search: RecordSearch = field(default_factory=RecordSearch)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def build_query(runtime: Runtime, actor: Actor, search: RecordSearch) -> repo.RecordQuery:
    """The checked query of a search, scoped to the tenants the actor sees."""
    actor.require(Permission.RECORDS)
    tenant_id = search.tenant_id if actor.can(Permission.ALL_TENANTS) else actor.tenant_id
    if search.tenant_id is not None and not actor.sees_tenant(search.tenant_id):
        tenant_id = -1  # another tenant's records: none (not an error that confirms the tenant exists)
    token = search.token.strip().lower()
    if token and not TOKEN_RE.match(token):
        raise Invalid("token", "a VerifyToken or CertifyId is 32 hexadecimal characters")
    statuses: tuple[int, ...] | None = None
    if search.status.strip():
        try:
            status = int(search.status)
        except ValueError:
            raise Invalid("status", "a VerifyStatus is a number (-1, 1-12)") from None
        if status not in STATUS_MESSAGES:
            raise Invalid("status", "a VerifyStatus is -1 or 1-12")
        statuses = (status,)
    code = search.sub_code.strip()
    if code:
        if code not in SUB_CODE_STATUSES:
            raise Invalid("sub_code", f"one of {', '.join(SUB_CODE_STATUSES)}")
        by_code = SUB_CODE_STATUSES[code]
        statuses = tuple(s for s in by_code if statuses is None or s in statuses) or (-99,)
    if search.review and search.review not in REVIEW_STATES:
        raise Invalid("review", f"one of {', '.join(REVIEW_STATES)}")
    if search.date_from and search.date_to and search.date_to < search.date_from:
        raise Invalid("date_to", "is before the start date")
    return repo.RecordQuery(
        tenant_id=tenant_id,
        biz_id=search.biz_id.strip() or None,
        token=token or None,
        scene_id=search.scene_id,
        statuses=statuses,
        face_verify_only=bool(code),
        review_state=search.review or None,
        user_index=user_index(runtime.crypto, search.user_id) if search.user_id.strip() else None,
        created_from=_day_start(search.date_from) if search.date_from else None,
        created_to=_day_start(search.date_to + timedelta(days=1)) if search.date_to else None,
    )


def _cursor(attempt: Attempt) -> str:
    return f"{int(attempt.created_at.timestamp() * 1_000_000)}.{attempt.id}"


def _parse_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        micros, attempt_id = (int(part) for part in cursor.split(".", 1))
        return datetime.fromtimestamp(micros / 1_000_000, UTC), attempt_id
    except (ValueError, OverflowError, OSError):
        raise Invalid("after", "not a page of this list") from None


def _sub_code(attempt: Attempt, evidence: dict[str, Any] | None) -> str | None:
    if attempt.scheme is None or attempt.state != "decided" or attempt.review_state == HELD:
        return None
    try:
        return sub_code(int(attempt.verify_status), (evidence or {}).get("checks", []))
    except ValueError:
        return None


def _row(
    runtime: Runtime,
    attempt: Attempt,
    biz_id: str,
    biz_type: str,
    scene: str,
    tenant: str,
    evidence: dict[str, Any] | None,
) -> RecordRow:
    try:
        name, number = attempt_identity(runtime.crypto, attempt)
    except DataErased:
        name, number = None, None
    status = int(attempt.verify_status)
    held = attempt.review_state == HELD
    return RecordRow(
        token=attempt.verify_token,
        tenant=tenant,
        biz_id=biz_id,
        biz_type=biz_type,
        scene_name=scene,
        family=attempt.scheme or "RP",
        created_at=attempt.created_at,
        decided_at=attempt.decided_at,
        state=attempt.state,
        status=status,
        status_text="held for review" if held else STATUS_MESSAGES.get(status, ""),
        sub_code=_sub_code(attempt, evidence),
        review_state=attempt.review_state,
        name=mask_name(name),
        id_number=mask_id_number(number),
    )


def search_records(
    runtime: Runtime, actor: Actor, search: RecordSearch, *, after: str | None = None, limit: int = 50
) -> RecordPage:
    """One page of matching records, newest first; ``after``: the previous page's ``next_cursor``."""
    query = build_query(runtime, actor, search)
    limit = max(1, min(limit, 200))
    code = search.sub_code.strip()
    with runtime.sessions() as session:
        found = repo.page(session, query, limit=limit + 1, before=_parse_cursor(after))
        total = repo.count(session, query, cap=COUNT_CAP + 1)
    more = len(found) > limit
    found = found[:limit]
    rows = [_row(runtime, *item) for item in found]
    if code in ("201", "202"):  # one status, two SubCodes: the page keeps the asked one
        rows = [r for r in rows if r.sub_code == code]
    next_cursor = _cursor(found[-1][0]) if more and found else None
    return RecordPage(rows, next_cursor, min(total, COUNT_CAP), total > COUNT_CAP, search)


CSV_COLUMNS = (
    "CertifyId/VerifyToken",
    "Tenant",
    "BizId/OuterOrderNo",
    "BizType",
    "Family",
    "CreatedAt",
    "DecidedAt",
    "VerifyStatus",
    "SubCode",
    "Review",
    "Name (masked)",
    "IdCardNumber (masked)",
)


def _csv_cell(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_records(runtime: Runtime, actor: Actor, search: RecordSearch) -> tuple[str, int]:
    """The filtered list as CSV (masked, at most EXPORT_CAP rows, newest first) and its row count."""
    actor.require(Permission.EXPORT)
    query = build_query(runtime, actor, search)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    written = 0
    before: tuple[datetime, int] | None = None
    while written < EXPORT_CAP:
        with runtime.sessions() as session:
            found = repo.page(session, query, limit=min(500, EXPORT_CAP - written), before=before)
        if not found:
            break
        for item in found:
            row = _row(runtime, *item)
            if search.sub_code in ("201", "202") and row.sub_code != search.sub_code:
                continue
            writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        row.token,
                        row.tenant,
                        row.biz_id,
                        row.biz_type,
                        row.family,
                        row.created_at.isoformat(timespec="seconds"),
                        row.decided_at.isoformat(timespec="seconds") if row.decided_at else "",
                        row.status,
                        row.sub_code or "",
                        row.review_state or "",
                        row.name,
                        row.id_number,
                    )
                ]
            )
            written += 1
        last = found[-1][0]
        before = (last.created_at, last.id)
    with runtime.sessions() as session, session.begin():
        filters = search.filters()
        if "user_id" in filters:
            filters["user_id"] = "(given)"  # the audit trail keeps no UserId
        audit.record(
            session,
            "records.export",
            f"{written} rows",
            tenant_id=actor.tenant_id,
            remote=actor.remote,
            actor=actor.label,
            detail={"filters": filters, "rows": written},
        )
    return out.getvalue(), written
