"""The identity check behind Id2MetaVerify, Id2MetaStandardVerify and Id2MetaPeriodVerify: is this name and
ID number pair on record?

These calls carry no scene, so they are answered from the calling tenant's authority: its own registry when
the registry holds at least one identity, else none (``NoAuthority``, which the wire answers 402). The
answer is ``BizCode`` ``"1"`` consistent, ``"2"`` inconsistent, ``"3"`` no record; ``"3"`` only when the
authority says it has no record of the number, never guessed.

``ParamType=md5`` (see ``domain/id2meta``): the registry finds numbers by a blind index of the plain number,
so the plain number is rebuilt from its md5 form (the birth date recovered), and the name is compared the md5
way with the name on record.

Id2MetaPeriodVerify also asks whether the card's validity dates are right. The registry holds no validity
dates, so it cannot say: such a check is refused with ``NoAuthority`` rather than answered from the name and
number alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from shiren.authority import AuthorityAnswer, AuthorityUnavailable, RegistryAuthority
from shiren.domain.id2meta import InvalidMd5Form, Md5Name, md5_name_matches, parse_md5_name, recover_number
from shiren.domain.idnumber import InvalidIdNumber, parse_id_number
from shiren.runtime import Runtime
from shiren.services.errors import Invalid, Missing, NoAuthority
from shiren.services.workload import china_today

__all__ = ["BizCode", "IdentityCheckRequest", "IdentityCheckResult", "ParamType", "check_identity"]

ParamType = Literal["normal", "md5"]
BizCode = Literal["1", "2", "3"]

CONSISTENT: BizCode = "1"
INCONSISTENT: BizCode = "2"
NO_RECORD: BizCode = "3"

MAX_NAME_CHARS = 64  # of a plain name; an md5 name has 31 more (32 hex digits for the first character)
_LONG_TERM = "长期"


@dataclass(frozen=True)
class IdentityCheckRequest:
    """One Id2Meta call's inputs, as the wire received them (``None``: not sent).

    ``period``: the call is Id2MetaPeriodVerify (it is also one whenever a validity date is sent)."""

    param_type: str | None
    user_name: str | None = field(repr=False)
    identify_num: str | None = field(repr=False)
    validity_start: str | None = field(default=None, repr=False)
    validity_end: str | None = field(default=None, repr=False)
    period: bool = False


@dataclass(frozen=True)
class IdentityCheckResult:
    biz_code: BizCode  # "1" consistent, "2" inconsistent, "3" no record
    authority: str  # the kind of authority that answered ("registry")


@dataclass(frozen=True, repr=False)
class _Checked:
    param_type: ParamType
    name: str | Md5Name  # plain, or the md5 form parsed
    number: str  # the plain, normalised 18-character number


def _param_type(raw: str | None) -> ParamType:
    value = (raw or "").strip().lower()
    if not value:
        raise Missing("ParamType")
    if value == "normal":
        return "normal"
    if value == "md5":
        return "md5"
    raise Invalid("ParamType", "must be normal or md5")


def _name(raw: str | None, param_type: ParamType) -> str | Md5Name:
    value = (raw or "").strip()
    if not value:
        raise Missing("UserName")
    if param_type == "md5":
        try:
            parsed = parse_md5_name(value)
        except InvalidMd5Form as exc:
            raise Invalid("UserName", str(exc)) from None
        if len(parsed.rest) > MAX_NAME_CHARS - 1:
            raise Invalid("UserName", f"a name has at most {MAX_NAME_CHARS} characters")
        return parsed
    if len(value) > MAX_NAME_CHARS:
        raise Invalid("UserName", f"a name has at most {MAX_NAME_CHARS} characters")
    return value


def _number(raw: str | None, param_type: ParamType, today: date) -> str:
    value = (raw or "").strip()
    if not value:
        raise Missing("IdentifyNum")
    try:
        if param_type == "md5":
            value = recover_number(value, today=today)
        return parse_id_number(value, today).number
    except (InvalidMd5Form, InvalidIdNumber) as exc:
        raise Invalid("IdentifyNum", str(exc)) from None


def _validity_date(raw: str | None, field_name: str, *, long_term_ok: bool) -> date | None:
    value = (raw or "").strip()
    if not value:
        raise Missing(field_name)
    if long_term_ok and value == _LONG_TERM:
        return None
    try:
        if len(value) != 8 or not value.isascii() or not value.isdigit():
            raise ValueError
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise Invalid(field_name, "must be a date as yyyymmdd") from None


def _check_validity(req: IdentityCheckRequest) -> None:
    start = _validity_date(req.validity_start, "ValidityStartDate", long_term_ok=False)
    end = _validity_date(req.validity_end, "ValidityEndDate", long_term_ok=True)
    if start is not None and end is not None and end < start:
        raise Invalid("ValidityEndDate", "is before ValidityStartDate")


def _check_request(req: IdentityCheckRequest, today: date) -> _Checked:
    param_type = _param_type(req.param_type)
    name = _name(req.user_name, param_type)
    number = _number(req.identify_num, param_type, today)
    return _Checked(param_type, name, number)


def _is_period(req: IdentityCheckRequest) -> bool:
    return req.period or req.validity_start is not None or req.validity_end is not None


def _tenant_authority(runtime: Runtime, tenant_id: int) -> RegistryAuthority:
    """The tenant's authority for scene-less checks: its registry when that holds an identity."""
    registry = runtime.authorities.by_kind.get("registry")
    if not isinstance(registry, RegistryAuthority) or not registry.holds_identities(tenant_id):
        raise NoAuthority("no identity authority answers for this tenant (its registry holds no identities)")
    return registry


def _biz_code(answer: AuthorityAnswer) -> BizCode:
    if answer.identity_match:
        return CONSISTENT
    if answer.record_found is False:
        return NO_RECORD
    # The record exists with another name, or the authority does not say whether it exists: the pair is
    # not known to it, and "no record" would claim more than it said.
    return INCONSISTENT


def check_identity(
    runtime: Runtime, tenant_id: int, req: IdentityCheckRequest, *, today: date | None = None
) -> IdentityCheckResult:
    """Whether the name and ID number pair is on the tenant's authority's record.

    Raises ``Missing``/``Invalid`` (with the Alibaba parameter names) for bad input, ``NoAuthority`` when
    no authority can answer this check for the tenant. ``today`` exists for deterministic tests."""
    today = today or china_today()
    checked = _check_request(req, today)
    period = _is_period(req)
    if period:
        _check_validity(req)
    authority = _tenant_authority(runtime, tenant_id)
    if period:
        raise NoAuthority("the registry holds no validity dates")
    try:
        if isinstance(checked.name, Md5Name):
            known = authority.known_name(tenant_id, checked.number)
            if known is None:
                code = NO_RECORD
            else:
                code = CONSISTENT if md5_name_matches(checked.name, known) else INCONSISTENT
        else:
            code = _biz_code(authority.lookup(tenant_id, checked.name, checked.number))
    except AuthorityUnavailable as exc:
        raise NoAuthority(f"the identity authority is unavailable: {exc}") from None
    return IdentityCheckResult(code, authority.name)
