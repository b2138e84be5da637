"""Capabilities only some models have, as typed protocols (not base methods that raise
``NotImplementedError``, the implicit trap): check with ``isinstance(model, Updatable)``.

Every :class:`~recokit.Recommender` implements both (the base runs them: the count-based models
update their count tables, ALS folds in through implicit, any other model refits on the changed
Dataset, which is exact by construction); the protocols let a backend type against the capability,
and accept an object of its own that has it, without naming recokit's base class.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol, Self, runtime_checkable

from recokit.data import Dataset

__all__ = ["Forgetful", "Updatable"]


@runtime_checkable
class Updatable(Protocol):
    """A fitted model that takes new interactions without a refit."""

    def partial_fit(self, dataset: Dataset) -> Self:
        """Add ``dataset``'s rows (built like the fitted Dataset) to the fitted state; equal to a
        fit on all rows for the count-based models."""
        ...


@runtime_checkable
class Forgetful(Protocol):
    """A fitted model that can forget customers exactly (GDPR erasure)."""

    def forget(self, customer_ids: Sequence[Hashable]) -> Self:
        """Remove every trace of these customers (ids, rows, declared data); equal to a fit
        without them for the count-based models."""
        ...
