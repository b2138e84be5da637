"""Customers: who they are, not what they buy next (docs/customers.md).

Every function takes a :class:`~recokit.Dataset` with times, measures at a reference date
``at`` (default: the last timestamp; nothing later is read) and returns one polars row per
customer of the dataset, with a reason in words:

* :func:`features` -- recency, frequency, monetary, tenure, gaps, baskets, price level, seasons,
  spend shares per category and sport, web events;
* :func:`rfm` -- R, F, M scores 1-5 and a segment from a :class:`Segment` table
  (:data:`DEFAULT_SEGMENTS`), tie rule in :mod:`recokit.customers.rfm`;
* :func:`cluster` -- behavioural clusters (a two-stage Gaussian mixture of behaviour profiles by
  default; k-means, Ward, DBSCAN; through scikit-learn), described;
* :func:`lifecycle`, :func:`transitions`, :func:`practice_changes` -- stages from each customer's
  own rhythm, who moved where between two dates, who took up a new sport;
* :func:`explain_customer` -- one customer's scores and segments with their inputs;
* :func:`value` -- next-12-months spend (MBG/NBD x Gamma-Gamma) and an at-risk score;
* :func:`section_order` -- each customer's order of the shop's sections (a runner sees running first);
* :func:`contact_plan` -- who to contact in the coming period, when, why and with what
  (abandoned cart, renewal, onboarding, season ahead, welcome back), consent first.

Prices, windows and orders are defined once, in :mod:`recokit.customers.orders`.

Examples
--------
>>> from recokit.datasets import sports_shop
>>> from recokit.customers import rfm, lifecycle
>>> shop = sports_shop(300, seed=1)
>>> table = rfm(shop)
>>> table.height == shop.n_customers, set(table["segment"]) <= {s.name for s in DEFAULT_SEGMENTS} | {"prospect"}
(True, True)
>>> sorted(set(lifecycle(shop)["stage"])) == sorted(STAGES)
True
"""

from recokit.customers.clusters import cluster
from recokit.customers.contact import KINDS, contact_plan, season_table
from recokit.customers.explain import CustomerExplanation, explain_customer
from recokit.customers.features import features
from recokit.customers.lifecycle import STAGES, lifecycle, practice_changes, transitions
from recokit.customers.rfm import (
    DEFAULT_SEGMENTS,
    Segment,
    quintile_scores,
    rfm,
    segment_descriptions,
)
from recokit.customers.sections import section_order, shop_sections
from recokit.customers.value import value

__all__ = [
    "DEFAULT_SEGMENTS",
    "KINDS",
    "STAGES",
    "CustomerExplanation",
    "Segment",
    "cluster",
    "contact_plan",
    "explain_customer",
    "features",
    "lifecycle",
    "practice_changes",
    "quintile_scores",
    "rfm",
    "season_table",
    "section_order",
    "segment_descriptions",
    "shop_sections",
    "transitions",
    "value",
]
