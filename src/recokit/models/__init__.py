"""The pluggable models. Each is a :class:`recokit.Recommender`."""

from recokit.models.factorization import ALS, BPR
from recokit.models.itemknn import ItemKNN
from recokit.models.popularity import Popularity

__all__ = ["ALS", "BPR", "ItemKNN", "Popularity"]
