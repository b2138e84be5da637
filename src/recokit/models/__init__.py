"""The pluggable models. Each is a :class:`recokit.Recommender`."""

from recokit.models.popularity import Popularity

__all__ = ["Popularity"]
