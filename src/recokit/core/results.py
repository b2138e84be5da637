"""What a request returns: :class:`Recommendation` and the ranked :class:`Recommendations`."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import polars as pl

from recokit._errors import ConfigError
from recokit.core.query import Query

__all__ = ["BACKFILL_REASON", "PINNED_REASON", "RULES_SEPARATOR", "Recommendation", "Recommendations", "join_rules"]

#: Reason shown for items added by back-fill (the model had no opinion on them).
BACKFILL_REASON = "popular in the shop"

#: Reason shown for a pinned item on which the model has no opinion.
PINNED_REASON = "featured by the shop"

#: Separates the rules of one recommendation in a flat ``rules`` column
#: (``"boost:eco up 20%; pin:promo"``). A rule's name cannot contain ``";"`` (a
#: :class:`~recokit.RuleError` when the rule is built), so the text splits back into the labels
#: unambiguously: ``text.split(RULES_SEPARATOR)``.
RULES_SEPARATOR = "; "


def join_rules(labels: Sequence[str]) -> str | None:
    """The labels of the rules that touched one recommendation as one text, None when there are none.

    >>> join_rules(("boost:eco up 20%", "pin:promo")), join_rules(())
    ('boost:eco up 20%; pin:promo', None)
    """
    return RULES_SEPARATOR.join(labels) if labels else None


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

    def to_polars(self, *, rules_as: Literal["text", "list"] = "text") -> pl.DataFrame:
        """Columns ``rank, item_id, score, reason, rules``, as in
        :meth:`~recokit.Recommender.recommend_many`: ``rules`` is one text per row, the rules
        joined by :data:`RULES_SEPARATOR` (null when none touched the item), or with
        ``rules_as="list"`` a list of texts (empty when none)."""
        if rules_as not in ("text", "list"):
            raise ConfigError(f"to_polars: rules_as must be 'text' or 'list'. Got {rules_as!r}.")
        text = rules_as == "text"
        return pl.DataFrame(
            {
                "rank": [r.rank for r in self.items],
                "item_id": [r.item_id for r in self.items],
                "score": [r.score for r in self.items],
                "reason": [r.reason for r in self.items],
                "rules": [join_rules(r.rules) if text else list(r.rules) for r in self.items],
            },
            schema_overrides={"rank": pl.Int64, "score": pl.Float64, "reason": pl.String, "rules": pl.String if text else pl.List(pl.String)},
        )

    def __str__(self) -> str:
        lines = [f"{r.rank:>2}. {r.item_id}  ({r.score:.3g})  {r.reason or ''}".rstrip() for r in self.items]
        return "\n".join(lines) if lines else "(no recommendations)"
