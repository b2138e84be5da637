"""recokit: product recommendations for small and medium shops.

Fit a model on the built-in synthetic sports shop and ask for a product page's pack:

>>> from recokit import AssociationRules, Query
>>> from recokit.datasets import sports_shop
>>> shop = sports_shop(2000, seed=0)
>>> rules = AssociationRules().fit(shop)
>>> bikes = shop.interactions.join(shop.catalog, on="item_id").filter(category="adult_bike")
>>> counts = bikes["item_id"].value_counts().sort(["count", "item_id"], descending=[True, False])
>>> bike = counts["item_id"][0]                                  # the best-selling bike
>>> recs = rules.recommend(Query(items=[bike], k=3))
>>> sorted(shop.catalog.filter(item_id=r.item_id)["category"][0] for r in recs)
['helmet', 'lock', 'pump']
"""

from recokit._errors import (
    ConfigError,
    ConfigTypeError,
    ContractError,
    DataError,
    DataWarning,
    DependencyError,
    NotFittedError,
    PerformanceWarning,
    PersistError,
    RecokitError,
    RecokitWarning,
    RuleError,
)
from recokit.core import Batch, Query, Recommendation, Recommendations, Recommender, ScoreBlock
from recokit.data import Dataset, IdMap, pseudonymise
from recokit.hybrid import Hybrid
from recokit.models import (
    ALS,
    BPR,
    AssociationRules,
    BuyAgain,
    ContentBased,
    ItemKNN,
    Popularity,
    Renewal,
)
from recokit.persist import load, save
from recokit.pipeline import Pipeline, load_pipeline
from recokit.rules import Ruled, RuleSet, load_rules

__version__ = "0.1.0"

__all__ = [
    "ALS",
    "AssociationRules",
    "BPR",
    "Batch",
    "BuyAgain",
    "ConfigError",
    "ConfigTypeError",
    "ContentBased",
    "ContractError",
    "DataError",
    "DataWarning",
    "Dataset",
    "DependencyError",
    "Hybrid",
    "IdMap",
    "ItemKNN",
    "NotFittedError",
    "PerformanceWarning",
    "PersistError",
    "Pipeline",
    "Popularity",
    "Query",
    "RecokitError",
    "RecokitWarning",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "Renewal",
    "RuleError",
    "RuleSet",
    "Ruled",
    "ScoreBlock",
    "load",
    "load_pipeline",
    "load_rules",
    "pseudonymise",
    "save",
]
