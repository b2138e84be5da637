"""recokit: product recommendations for small and medium shops.

>>> import recokit
>>> sorted(recokit.__all__)[:3]
['ConfigError', 'Context', 'DataError']
"""

from recokit._errors import (
    ConfigError,
    DataError,
    DataWarning,
    NotFittedError,
    PerformanceWarning,
    RecokitError,
    RuleError,
)
from recokit.base import Context, Query, Recommendation, Recommendations, Recommender
from recokit.data import Dataset, IdMap
from recokit.hybrid import Hybrid
from recokit.models import ALS, BPR, AssociationRules, ContentBased, ItemKNN, Popularity, Renewal
from recokit.rules import Ruled, RuleSet, load_rules

__version__ = "0.1.0"

__all__ = [
    "ALS",
    "AssociationRules",
    "BPR",
    "ConfigError",
    "ContentBased",
    "Context",
    "DataError",
    "DataWarning",
    "Dataset",
    "Hybrid",
    "IdMap",
    "ItemKNN",
    "NotFittedError",
    "PerformanceWarning",
    "Popularity",
    "Query",
    "RecokitError",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "Renewal",
    "RuleError",
    "RuleSet",
    "Ruled",
    "load_rules",
]
