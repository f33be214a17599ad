"""Check ``capture_content_fresh``: the capture's pictures were not submitted before (a re-encoded, resized,
cropped, trimmed, slowed or mirrored replay has other bytes, so ``capture_fresh`` does not see it).

The engine fingerprints the content (engine/liveness/replay.py); the index keys it and finds the earlier
capture sharing the most of it. The index is a dependency of the decision (``DecisionModels.replay_index``),
so evaluating stays free of storage; the decision records the new capture's tokens with its verdict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from shiren.domain.decision import Check
from shiren.engine.liveness.replay import MATCH_SHARE, ContentPrint, is_replay, replay_share

CHECK = "capture_content_fresh"


class ReplayIndex(Protocol):
    def tokens(self, pairs: Iterable[tuple[int, int]]) -> list[str]:
        """Keyed, non-reversible tokens of a print's (band, value) pairs."""
        ...

    def matches(self, tokens: list[str]) -> int:
        """The most of ``tokens`` that any one earlier capture's stored print holds."""
        ...


@dataclass
class ContentFreshness:
    check: Check
    tokens: list[str] = field(default_factory=list)  # the capture's own print, to record with the verdict


def content_freshness(index: ReplayIndex, content: ContentPrint, *, record: bool) -> ContentFreshness:
    """Look the print up, as it is and mirrored; ``record``: keep its tokens for later lookups."""
    stored = index.tokens(content.bands)
    if not stored:
        return ContentFreshness(Check(CHECK, 9, None, detail="no face to compare"))
    shared = max(
        index.matches(index.tokens(content.probe)), index.matches(index.tokens(content.probe_mirrored))
    )
    replayed = is_replay(shared, len(stored))
    check = Check(
        CHECK,
        9,
        not replayed,
        round(replay_share(shared, len(stored)), 3),
        MATCH_SHARE,
        "this capture's content was already submitted" if replayed else "",
        {"shared": shared, "tokens": len(stored)},
    )
    return ContentFreshness(check, stored if record else [])
