"""Offline evaluation: leak-free splits, pinned metrics, a comparison table with confidence intervals.

>>> from recokit.evaluation import temporal_split, evaluate, paired_test, to_markdown

See docs/evaluation.md for the protocols and every formula.
"""

from recokit.evaluation.evaluate import evaluate, paired_test, rank_cases, to_markdown
from recokit.evaluation.split import (
    Split,
    SplitReport,
    basket_completion_split,
    leave_last_basket_out,
    random_holdout,
    temporal_split,
)
from recokit.evaluation.tuning import DEFAULT_GRIDS, TuneResult, tune, validation_split

__all__ = [
    "DEFAULT_GRIDS",
    "Split",
    "SplitReport",
    "basket_completion_split",
    "evaluate",
    "leave_last_basket_out",
    "paired_test",
    "random_holdout",
    "rank_cases",
    "temporal_split",
    "to_markdown",
    "tune",
    "TuneResult",
    "validation_split",
]
