"""Capabilities only some models have, as typed protocols (not base methods that raise
``NotImplementedError``, the implicit trap): check with ``isinstance(model, Updatable)``.

No 0.x model implements them yet: they are the contract the production-safety work (incremental
updates, exact GDPR erasure from sufficient statistics) fills in, declared here so a backend can
type against them now.
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
        """Add ``dataset``'s rows (same catalogue) to the fitted state; equal to a refit on all rows."""
        ...


@runtime_checkable
class Forgetful(Protocol):
    """A fitted model that can forget customers exactly (GDPR erasure)."""

    def forget(self, customer_ids: Sequence[Hashable]) -> Self:
        """Remove every trace of these customers; equal to a refit without them."""
        ...
