"""How often one identity may fail (Alibaba answers 418 "too many failures today"), and how many liveness
challenges it may be shown.

A liveness challenge can be fished: an attacker holding a pre-recorded clip asks for challenges until one
fits it (``domain.challenge.fit_chance``). Each attempt allows a few challenges
(``SHIREN_MAX_CHALLENGES_PER_ATTEMPT``); these limits bound the attempts and the challenges one person can
be shown in a day: at most ``MAX_FAILURES_PER_IDENTITY`` failed verifications of one ID number in
``WINDOW`` per tenant and ``MAX_FAILURES_PER_BIZID`` of one BizId of a scene (a passed verification does
not count), and at most ``MAX_CHALLENGES_PER_IDENTITY`` / ``MAX_CHALLENGES_PER_BIZID`` challenges drawn.
"""

from __future__ import annotations

from datetime import timedelta

WINDOW = timedelta(hours=24)
MAX_FAILURES_PER_IDENTITY = 10
MAX_FAILURES_PER_BIZID = 10
MAX_CHALLENGES_PER_IDENTITY = 20
MAX_CHALLENGES_PER_BIZID = 20


def identity_key(id_number: str) -> str:
    """The form of an ID number its blind index is computed from (case and spaces do not matter)."""
    return id_number.strip().upper()
