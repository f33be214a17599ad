"""How often one identity may fail (Alibaba answers 418 "too many failures today").

A liveness challenge can be fished: an attacker holding a pre-recorded clip asks for challenges until one
fits it. Each attempt allows a few challenges (``SHIREN_MAX_CHALLENGES_PER_ATTEMPT``); these limits bound
the attempts, so the challenges one person can be shown in a day are bounded too: at most
``MAX_FAILURES_PER_IDENTITY`` failed verifications of one ID number in ``WINDOW`` per tenant, and
``MAX_FAILURES_PER_BIZID`` of one BizId of a scene. A passed verification does not count.
"""

from __future__ import annotations

from datetime import timedelta

WINDOW = timedelta(hours=24)
MAX_FAILURES_PER_IDENTITY = 10
MAX_FAILURES_PER_BIZID = 10


def identity_key(id_number: str) -> str:
    """The form of an ID number its blind index is computed from (case and spaces do not matter)."""
    return id_number.strip().upper()
