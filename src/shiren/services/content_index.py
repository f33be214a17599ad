"""The replay index the device decision runs on: capture prints keyed with the system's index key and
looked up in the database (storage/repo/prints.py), across tenants."""

from __future__ import annotations

from collections.abc import Iterable

from shiren.runtime import Runtime
from shiren.storage.repo.prints import best_overlap

SCOPE = "capture-content"


class ContentIndex:
    """``ReplayIndex`` over the runtime's database: a token is HMAC(index key, "band:value"), so what is
    stored reveals neither the hashes nor the frames, and only this installation can compute it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def tokens(self, pairs: Iterable[tuple[int, int]]) -> list[str]:
        return sorted({self.runtime.crypto.blind_index(f"{b}:{v}", scope=SCOPE) for b, v in pairs})

    def matches(self, tokens: list[str]) -> int:
        if not tokens:
            return 0
        with self.runtime.sessions() as session:
            return best_overlap(session, tokens)
