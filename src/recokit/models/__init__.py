"""The pluggable models. Each is a :class:`recokit.Recommender`."""

from recokit.models.association import AssociationRules
from recokit.models.popularity import Popularity

__all__ = ["AssociationRules", "Popularity"]
