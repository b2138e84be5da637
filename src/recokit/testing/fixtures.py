"""A small planted dataset on which any model that learns must find what was hidden.

implicit's checkerboard, made shop-shaped: customers and items fall into groups, every customer
buys every item of their own group but one (the *held-out* item) and nothing outside it. With
the customer's purchases excluded, the only in-group item left is the held-out one, so a model
that learnt the groups ranks it first; a model that did not is right by chance only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from recokit._errors import ConfigError
from recokit.data import Dataset

__all__ = ["Planted", "planted"]

#: The last purchase of the planted shop (queries default to it as "now").
PLANTED_END = dt.datetime(2024, 6, 30)


@dataclass(frozen=True)
class Planted:
    """A planted dataset and what was hidden in it.

    Attributes
    ----------
    dataset : Dataset
        Interactions (with timestamps and order ids) and a catalogue with ``group``,
        ``category`` (the same as ``group``), ``price`` and ``description`` columns.
    held_out : dict
        customer id -> the one item of their group they did not buy.
    group_of_item, group_of_customer : dict
        id -> group name (``"g0"``, ``"g1"``, ...).
    """

    dataset: Dataset
    held_out: dict[str, str]
    group_of_item: dict[str, str]
    group_of_customer: dict[str, str]

    @property
    def chance(self) -> float:
        """The hit rate of a model that ranks the allowed items at random."""
        n_groups = len(set(self.group_of_item.values()))
        per_group = len(self.group_of_item) // n_groups
        return 1.0 / (len(self.group_of_item) - (per_group - 1))


def _check(name: str, value: int, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"planted({name}=...) must be an int >= {low}. Got {value!r}.", hint=f"pass {name}={max(low, 2)} or more.")


def planted(n_groups: int = 2, customers_per_group: int = 16, items_per_group: int = 8, *, seed: int = 0) -> Planted:
    """Build the planted dataset (deterministic: the same arguments give the same data).

    Item ``j`` belongs to group ``j % n_groups`` (groups interleave, so catalogue order favours
    no group); customer ``c`` to group ``c % n_groups``. Each customer buys their group's items,
    except one held out in turn, in two orders on two days within the last 90 days; ``seed``
    only moves the days.

    Parameters
    ----------
    n_groups : int
        Number of groups (>= 2).
    customers_per_group : int
        Customers in each group (>= 1).
    items_per_group : int
        Items in each group (>= 3, so that each customer buys at least two).
    seed : int
        Seed of the purchase days.

    Returns
    -------
    Planted

    Examples
    --------
    >>> p = planted(n_groups=2, customers_per_group=4, items_per_group=3)
    >>> p.dataset
    Dataset(customers=8, items=6, interactions=16, baskets=16, time=yes)
    >>> p.held_out["C0000"], p.group_of_customer["C0000"], p.group_of_item["I0000"]
    ('I0000', 'g0', 'g0')
    >>> sorted(p.dataset.history("C0000")["item_id"].to_list())
    ['I0002', 'I0004']
    >>> round(p.chance, 3)
    0.25
    """
    _check("n_groups", n_groups, 2)
    _check("customers_per_group", customers_per_group, 1)
    _check("items_per_group", items_per_group, 3)
    rng = np.random.default_rng(seed)
    n_items, n_customers = n_groups * items_per_group, n_groups * customers_per_group
    items = [f"I{j:04d}" for j in range(n_items)]
    group_of_item = {items[j]: f"g{j % n_groups}" for j in range(n_items)}
    rows, held_out, group_of_customer = [], {}, {}
    for c in range(n_customers):
        cid, g = f"C{c:04d}", c % n_groups
        mine = [items[g + n_groups * r] for r in range(items_per_group)]
        held_out[cid] = mine[(c // n_groups) % items_per_group]
        group_of_customer[cid] = f"g{g}"
        bought = [i for i in mine if i != held_out[cid]]
        days = np.sort(rng.choice(90, size=2, replace=False))
        for pos, item in enumerate(bought):
            order = pos % 2
            when = PLANTED_END - dt.timedelta(days=int(days[1 - order]), minutes=pos)
            rows.append((cid, item, f"O{c:04d}-{order}", when))
    frame = pl.DataFrame(rows, schema=["customer_id", "item_id", "order_id", "ts"], orient="row")
    catalog = pl.DataFrame(
        {
            "item_id": items,
            "group": [group_of_item[i] for i in items],
            "category": [group_of_item[i] for i in items],
            "price": [20.0 + 5.0 * (j % 3) for j in range(n_items)],  # uninformative: cuts across groups
            "description": [f"planted product of group {group_of_item[i]}" for i in items],
        }
    )
    ds = Dataset(frame, catalog, basket_col="order_id", time_col="ts")
    return Planted(dataset=ds, held_out=held_out, group_of_item=group_of_item, group_of_customer=group_of_customer)
