"""What a request returns: :class:`Recommendation` and the ranked :class:`Recommendations`."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import polars as pl

from recokit.core.query import Query

__all__ = ["BACKFILL_REASON", "PINNED_REASON", "Recommendation", "Recommendations"]

#: Reason shown for items added by back-fill (the model had no opinion on them).
BACKFILL_REASON = "popular in the shop"

#: Reason shown for a pinned item on which the model has no opinion.
PINNED_REASON = "featured by the shop"


@dataclass(frozen=True)
class Recommendation:
    """One recommended item."""

    rank: int
    item_id: Hashable
    score: float
    reason: str | None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recommendations(Sequence[Recommendation]):
    """A ranked list of recommendations, best first.

    Iterate it, index it, or turn it into a table with :meth:`to_polars`.
    """

    items: tuple[Recommendation, ...]
    query: Query

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> Recommendation: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Recommendation, ...]: ...
    def __getitem__(self, i: int | slice) -> Recommendation | tuple[Recommendation, ...]:
        return self.items[i]

    def __iter__(self) -> Iterator[Recommendation]:
        return iter(self.items)

    @property
    def item_ids(self) -> list[Hashable]:
        return [r.item_id for r in self.items]

    @property
    def scores(self) -> np.ndarray:
        return np.array([r.score for r in self.items], dtype=np.float64)

    def to_polars(self) -> pl.DataFrame:
        """Columns ``rank, item_id, score, reason, rules``."""
        return pl.DataFrame(
            {
                "rank": [r.rank for r in self.items],
                "item_id": [r.item_id for r in self.items],
                "score": [r.score for r in self.items],
                "reason": [r.reason for r in self.items],
                "rules": [list(r.rules) for r in self.items],
            },
            schema_overrides={"rank": pl.Int64, "score": pl.Float64, "reason": pl.String, "rules": pl.List(pl.String)},
        )

    def __str__(self) -> str:
        lines = [f"{r.rank:>2}. {r.item_id}  ({r.score:.3g})  {r.reason or ''}".rstrip() for r in self.items]
        return "\n".join(lines) if lines else "(no recommendations)"
