"""Masked forms of personal fields: what a list, an export or an auditor shows instead of the value."""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """张三丰 → 张**; Alice → A****: the first character only."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def mask_id_number(number: str | None) -> str:
    """110101199003071234 → 110***********1234: the province and city prefix and the last four only."""
    if not number:
        return ""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_text(value: str | None) -> str:
    """Any other personal string (a phone number, an IP, a UserId): its length only."""
    return "*" * min(len(value or ""), 12)
