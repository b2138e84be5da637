"""The synthetic sports shop assembled: :func:`sports_shop_tables` and :func:`sports_shop`."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from recokit._errors import ConfigError
from recokit.datasets.synthetic.calendar import build_calendar
from recokit.datasets.synthetic.catalogue import catalog
from recokit.datasets.synthetic.orders import interactions_table
from recokit.datasets.synthetic.profiles import (
    customer_ids,
    customer_tables,
    draw_customers,
    profile_events,
)
from recokit.datasets.synthetic.web import web_events as web_events_of

if TYPE_CHECKING:  # pragma: no cover
    from recokit.data import Dataset

__all__ = ["ShopTables", "sports_shop", "sports_shop_tables"]

_START = _dt.date(2024, 1, 1)


@dataclass(frozen=True)
class ShopTables:
    """The tables of the synthetic sports shop.

    Attributes
    ----------
    interactions : polars.DataFrame
        One row per order line: ``order_id`` (i64, increasing with time), ``customer_id`` (str),
        ``item_id`` (str), ``timestamp`` (``Datetime("us")``), ``quantity`` (i64 >= 1), ``price``
        (f64, unit price paid). Sorted by timestamp, order_id, item_id; no duplicate
        (order_id, item_id).
    catalog : polars.DataFrame
        The fixed catalogue (same for every size and seed): ``item_id``, ``name``, ``sport``,
        ``category``, ``brand``, ``price``, ``stock``, ``age_group``, ``consumable``,
        ``eco_label``, ``description``.
    customers : polars.DataFrame
        One row per customer: ``customer_id`` (``"C000001"``...; 7 digits from a million
        customers on), ``declared_sports`` (comma-separated in :data:`SPORTS` order, null when
        not declared, ~40 %), ``level`` (beginner / intermediate / expert, null when not
        declared), ``consent_personalization`` (~85 % true), ``consent_email``.
    profiles : polars.DataFrame
        Hidden truth for tests and evaluation, never for models: ``customer_id``, ``profile``
        (one of :data:`PROFILES`) and ``n_children`` (i64, 0 except for parents).
    abandoned : polars.DataFrame or None
        With ``web_events=True``, the planted abandoned carts (hidden truth): ``customer_id,
        item_id, timestamp`` of each cart add no order followed (see
        :mod:`recokit.datasets.synthetic.web`); None without web events.
    """

    interactions: pl.DataFrame
    catalog: pl.DataFrame
    customers: pl.DataFrame
    profiles: pl.DataFrame
    abandoned: pl.DataFrame | None = None


def _check_params(n_customers: Any, seed: Any, start: Any, days: Any) -> _dt.date:
    """The checked ``start`` as a date; a :class:`ConfigError` on any bad parameter."""

    def is_int(v: Any) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)

    if not is_int(n_customers) or n_customers < 1:
        raise ConfigError(f"n_customers must be an int >= 1. Got {n_customers!r}.", hint="pass the number of customers to simulate, e.g. n_customers=5000.")
    if not is_int(seed) or seed < 0:
        raise ConfigError(f"seed must be an int >= 0. Got {seed!r}.", hint="any non-negative integer works; the same seed gives the same data.")
    if not is_int(days) or days < 1:
        raise ConfigError(f"days must be an int >= 1. Got {days!r}.", hint="pass the length of the sales history in days, e.g. days=730.")
    if isinstance(start, _dt.datetime):
        start = start.date()
    if not isinstance(start, _dt.date):
        raise ConfigError(f"start must be a datetime.date. Got {start!r}.", hint="e.g. start=datetime.date(2024, 1, 1).")
    return start


def sports_shop_tables(n_customers: int = 5000, *, seed: int = 0, start: _dt.date = _START,
                       days: int = 730, web_events: bool = False) -> ShopTables:
    """Generate the synthetic sports shop: order lines, catalogue, customers and hidden profiles.

    Parameters
    ----------
    n_customers : int, default 5000
        Number of customers (all listed in ``customers``; about 13 % buy nothing in the
        window). 5,000 customers give about 43,000 order lines over two years; a million
        give about 8.4 million in under 10 seconds.
    seed : int, default 0
        Seed of ``numpy.random.default_rng``: the same arguments always give identical tables.
        The catalogue does not depend on it.
    start : datetime.date, default 2024-01-01
        First day of the sales history.
    days : int, default 730
        Length of the history: timestamps lie in ``[start, start + days)``.
    web_events : bool, default False
        Add product views, cart adds and planted abandoned carts to the interactions (which
        then gain an ``event`` column; web rows have a negative ``order_id`` and a null
        ``price``) and list the abandonments in ``abandoned``. Drawn from a generator of their
        own: the purchase rows, customers and profiles are those of ``web_events=False``.

    Returns
    -------
    ShopTables
        ``interactions``, ``catalog``, ``customers`` and the hidden ``profiles`` (and
        ``abandoned`` with web events).

    Raises
    ------
    ConfigError
        If ``n_customers`` or ``days`` is not an int >= 1, ``seed`` not an int >= 0, ``start``
        not a date or ``web_events`` not a bool.

    See Also
    --------
    sports_shop : the same data as a :class:`recokit.data.Dataset`.

    Examples
    --------
    >>> from recokit.datasets import sports_shop_tables
    >>> t = sports_shop_tables(300, seed=1)
    >>> t.catalog.height, t.customers.height
    (503, 300)
    >>> t.interactions.columns
    ['order_id', 'customer_id', 'item_id', 'timestamp', 'quantity', 'price']
    >>> t.interactions.equals(sports_shop_tables(300, seed=1).interactions)
    True
    """
    start = _check_params(n_customers, seed, start, days)
    if not isinstance(web_events, bool):
        raise ConfigError(f"web_events must be True or False. Got {web_events!r}.")
    n, d_total = int(n_customers), int(days)
    cat = catalog()
    cal = build_calendar(start, d_total)
    rng = np.random.default_rng(int(seed))
    cust = draw_customers(rng, n, d_total)
    ev, bike_cust, bike_day = profile_events(rng, cust, cal)
    ids = customer_ids(n)
    interactions = interactions_table(rng, ev, (bike_cust, bike_day), cust, cal, cat, ids)
    del ev, bike_cust, bike_day
    customers, profiles = customer_tables(rng, cust, ids)
    if not web_events:
        return ShopTables(interactions, cat.frame.clone(), customers, profiles)
    start_us = (np.datetime64(start, "D") - np.datetime64(0, "D")).astype(np.int64) * 86_400_000_000
    with_web, abandoned = web_events_of(int(seed), interactions, cat, ids, (int(start_us), int(start_us) + d_total * 86_400_000_000))
    return ShopTables(with_web, cat.frame.clone(), customers, profiles, abandoned)


def sports_shop(n_customers: int = 5000, *, seed: int = 0, start: _dt.date = _START, days: int = 730,
                web_events: bool = False) -> Dataset:
    """The synthetic sports shop as a :class:`recokit.data.Dataset`, ready for any model.

    Same parameters as :func:`sports_shop_tables`; the hidden ``profiles`` are left out (use
    :func:`sports_shop_tables` to evaluate against them).

    Parameters
    ----------
    n_customers : int, default 5000
        Number of customers.
    seed : int, default 0
        Random seed; the same arguments always give the same data.
    start : datetime.date, default 2024-01-01
        First day of the history.
    days : int, default 730
        Length of the history in days.
    web_events : bool, default False
        With views, cart adds and planted abandoned carts (``event_col="event"``).

    Returns
    -------
    recokit.data.Dataset
        Order lines with ``time_col="timestamp"``, ``basket_col="order_id"`` and
        ``quantity_col="quantity"`` (and ``event_col="event"`` with web events), with the
        catalogue and the customers attached.

    Raises
    ------
    ConfigError
        On a bad parameter (see :func:`sports_shop_tables`).

    Examples
    --------
    >>> from recokit.datasets import sports_shop
    >>> ds = sports_shop(300, seed=1)
    >>> ds.n_items
    503
    """
    t = sports_shop_tables(n_customers, seed=seed, start=start, days=days, web_events=web_events)
    from recokit.data import Dataset

    return Dataset(
        t.interactions,
        catalog=t.catalog,
        customers=t.customers,
        time_col="timestamp",
        basket_col="order_id",
        quantity_col="quantity",
        event_col="event" if web_events else None,
    )
