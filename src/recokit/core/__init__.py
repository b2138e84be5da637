"""The core: the request (:class:`Query`), the stages of :class:`Recommender` on a
:class:`Batch`, the :class:`ScoreBlock` models return, results, and the only top-k."""

from recokit.core.batch import (
    Batch,
    LazyScores,
    Restriction,
    ScoreBlock,
    Selection,
    Source,
    indicator,
)
from recokit.core.capabilities import Forgetful, Updatable
from recokit.core.query import Query
from recokit.core.recommender import CountModel, Recommender, clone, explained, scored
from recokit.core.results import (
    BACKFILL_REASON,
    PINNED_REASON,
    RULES_SEPARATOR,
    Recommendation,
    Recommendations,
)
from recokit.core.topk import densify, top_k, top_k_blocked, top_k_bounded, top_k_coo

__all__ = [
    "BACKFILL_REASON",
    "PINNED_REASON",
    "RULES_SEPARATOR",
    "Batch",
    "LazyScores",
    "Forgetful",
    "Query",
    "Recommendation",
    "Recommendations",
    "CountModel",
    "Recommender",
    "Restriction",
    "ScoreBlock",
    "Selection",
    "Source",
    "Updatable",
    "clone",
    "densify",
    "explained",
    "indicator",
    "scored",
    "top_k",
    "top_k_blocked",
    "top_k_bounded",
    "top_k_coo",
]
