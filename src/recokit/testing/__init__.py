"""recokit's conformance kit: the tests every :class:`~recokit.Recommender` must pass.

Write a pytest class that inherits :class:`RecommenderContract` (alias ``RecommenderTests``)
and returns your model from ``make_model``; see ``docs/testing.md``. The planted dataset
(:func:`planted`), :func:`fingerprint`, :func:`same_params` and :func:`clone` need nothing
beyond recokit; the contract itself needs pytest and hypothesis (``pip install 'recokit[dev]'``)
and raises :class:`DependencyError` without them, when first used.

Examples
--------
>>> from recokit.testing import planted
>>> planted().dataset
Dataset(customers=32, items=16, interactions=224, baskets=64, time=yes)
"""

from __future__ import annotations

from typing import Any

from recokit._errors import DependencyError
from recokit.testing.fixtures import Planted, planted
from recokit.testing.state import clone, fingerprint, same_params

__all__ = [
    "DependencyError",
    "Planted",
    "PlantedFitError",
    "RecommenderContract",
    "RecommenderTests",
    "clone",
    "fingerprint",
    "planted",
    "same_params",
]

_CONTRACT = {"RecommenderContract", "RecommenderTests", "PlantedFitError", "assert_same_recommendations"}


def __getattr__(name: str) -> Any:
    # the contract imports pytest and hypothesis: only when asked for
    if name in _CONTRACT:
        import sys

        if "recokit.testing.contract" not in sys.modules and "pytest" in sys.modules:
            # under pytest, a failed check shows the compared values, as in the shop's own tests
            sys.modules["pytest"].register_assert_rewrite("recokit.testing.contract")
        from recokit.testing import contract

        return getattr(contract, name)
    raise AttributeError(f"module 'recokit.testing' has no attribute {name!r}")
