"""Kept for test modules written before the kit moved into the package: use ``recokit.testing``."""

from recokit.testing import RecommenderContract, same_params

__all__ = ["RecommenderContract", "same_params"]
