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
from recokit.models import AssociationRules, Popularity

__version__ = "0.1.0"

__all__ = [
    "AssociationRules",
    "ConfigError",
    "Context",
    "DataError",
    "DataWarning",
    "Dataset",
    "IdMap",
    "NotFittedError",
    "PerformanceWarning",
    "Popularity",
    "Query",
    "RecokitError",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "RuleError",
]
