"""Business rules: what the merchandiser decides after the model has scored.

The algorithm proposes, the merchandiser decides. A :class:`RuleSet` is an ordered list of named
rules; :class:`Ruled` wraps any :class:`~recokit.Recommender` (or hybrid) with it and is itself a
Recommender, so rules apply without knowing which model scored.

Two kinds of rules:

* **hard rules** are never violated, including in the back-filled part of a list:
  :class:`Filter`, :class:`ExcludeOwned`, :class:`OnePerGroup`, :class:`MaxPerGroup`
  (and :class:`RequireConsent`, which decides *how* a customer is scored);
* **soft rules** change the order: :class:`Boost`, :class:`Bury`, :class:`Pin`.

Each rule type lives in its own module and compiles itself (:mod:`recokit.rules.rule`).
Conditions are SQL expressions over catalogue columns (``category = 'bike' AND age_group =
'child'``, ``stock > 0``), checked once against a whitelist grammar (:mod:`recokit.rules.grammar`:
no query, no function but LOWER/UPPER, bounded size) when the rule is built, turned into a polars
expression by recokit itself (the text never reaches polars' SQL engine), and into one boolean
mask per rule when the rule set is fitted. Per request only numpy mask operations run; nothing
from a rules file or a saved model is ever executed as code.

Order of a request in :meth:`Ruled.recommend`:

1. consent: a customer without consent is scored as an anonymous visitor with the same cart /
   product page, and no rule looks at their history;
2. the model's scores; boosts and buries multiply them (sign-aware, NaN stays NaN);
3. the allowed mask: the query's exclusions AND every filter AND the per-customer rules
   (owned items, one-per-group triggered by the history or the cart);
4. pins take their positions first (if allowed), then the list is filled greedily from the best
   allowed candidates, skipping any item that would break a list limit (one-per-group within the
   list, max-per-group); when the model runs out of scored candidates the list is back-filled from
   the ``fallback`` model's ranking (when given), then the shop's best sellers, under the same
   hard rules.

Examples
--------
>>> import polars as pl
>>> from recokit import Dataset, Popularity, Query
>>> from recokit.rules import Boost, Filter, MaxPerGroup, Ruled, RuleSet
>>> catalog = pl.DataFrame({
...     "item_id": ["tent", "tent2", "stove", "mat"],
...     "category": ["tent", "tent", "stove", "mat"],
...     "stock": [3, 0, 5, 2],
...     "eco_label": [False, False, True, False],
... })
>>> orders = pl.DataFrame({"customer_id": [1, 2, 2, 3, 3, 3], "item_id": ["tent", "tent", "tent2", "tent2", "stove", "mat"]})
>>> rules = RuleSet([
...     Filter("stock > 0", name="in stock only"),
...     MaxPerGroup("category", 1, name="one per category"),
...     Boost("eco_label", 3.0, name="eco up"),
... ])
>>> model = Ruled(Popularity(), rules).fit(Dataset(orders, catalog))
>>> recs = model.recommend(Query(k=3))
>>> recs.item_ids
['stove', 'tent', 'mat']
>>> recs[0].rules
('boost:eco up',)
>>> model.why_not(Query(k=3), "tent2")
"removed by rule 'in stock only' (filter): it does not satisfy stock > 0"
"""

from recokit.rules.consent import RequireConsent
from recokit.rules.filters import Filter
from recokit.rules.history import ExcludeOwned, OnePerGroup
from recokit.rules.limits import MaxPerGroup
from recokit.rules.pins import Pin
from recokit.rules.rule import RULE_TYPES, Rule, register
from recokit.rules.ruled import Ruled
from recokit.rules.ruleset import RuleSet
from recokit.rules.scoring import Boost, Bury
from recokit.rules.segments import ExcludeFor
from recokit.rules.toml import check_file, load_rules, parse_rules

__all__ = [
    "RULE_TYPES",
    "Boost",
    "Bury",
    "ExcludeFor",
    "ExcludeOwned",
    "Filter",
    "MaxPerGroup",
    "OnePerGroup",
    "Pin",
    "RequireConsent",
    "Rule",
    "RuleSet",
    "Ruled",
    "check_file",
    "load_rules",
    "parse_rules",
    "register",
]
