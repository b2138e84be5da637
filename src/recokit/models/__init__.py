"""The pluggable models. Each is a :class:`recokit.Recommender`."""

from recokit.models.association import AssociationRules
from recokit.models.buyagain import BuyAgain
from recokit.models.content import ContentBased
from recokit.models.factorization import ALS, BPR
from recokit.models.itemknn import ItemKNN
from recokit.models.popularity import Popularity
from recokit.models.renewal import Renewal

__all__ = ["ALS", "AssociationRules", "BPR", "BuyAgain", "ContentBased", "ItemKNN", "Popularity", "Renewal"]
