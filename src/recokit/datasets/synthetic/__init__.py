"""A deterministic synthetic sports shop: the embedded data of recokit's demo, tests and benchmarks.

The generator plants structure that the library's models are meant to find, so tests can check
that they do:

* **hidden customer profiles** (``ShopTables.profiles``, never given to models):
  ``regular_runner`` (running shoes renewed every 6-8 months, apparel, energy gels every 1-3
  months), ``keen_cyclist`` (an adult bike, then inner tubes every 1.5-3.5 months, lights,
  apparel), ``seasonal_occasional`` (ski gear in winter, hiking and swimming in summer),
  ``parent`` (1-2 children, at most one child bike per child, bikes of two children at least
  120 days apart; child helmets, swimsuits, shoes) and ``multi_sport`` (2-3 sports);
* **bundles**: an adult bike is followed by a helmet, a pump and a lock (drawn with
  probability 0.9, 0.85 and 0.85), in the same order for 78 % of the bikes, otherwise in one
  follow-up order 1-14 days later (so about 2/3 of bike orders hold each of them); a child bike by a child helmet; weaker pairs (running shoes + socks or
  apparel, ski + goggles, tent + backpack, swimsuit + goggles, ...);
* **renewals**: running shoes every ~185-235 days (jittered), consumables every 1-3 months;
  durable items (bikes, tents, skis, ski boots, watches, dumbbells) are bought at most once per
  customer, except a rare second adult bike;
* **seasonality**: ski gear in Nov-Apr (about 90 % in Dec-Mar), hiking and swimming in May-Sep
  (mostly Jun-Aug), bikes in spring, fitness in January, gifts before Christmas, weekends;
* **popularity skew**: Zipf-like within each category, tilted towards expensive items for the
  customers with a hidden premium taste (more frequent among experts).

The categories are listed in :data:`CATEGORIES`; child items (``age_group == "child"``) are
``child_bike``, ``child_helmet``, ``child_swimsuit`` and ``child_hiking_shoes``, bought only by
parents.

Everything is drawn from ``numpy.random.default_rng(seed)`` with vectorised numpy, so the same
arguments always give identical tables and a million customers take seconds.

The package, by concern: :mod:`~recokit.datasets.synthetic.catalogue` (categories, products,
prices, stock), :mod:`~recokit.datasets.synthetic.calendar` (day weights, seasons),
:mod:`~recokit.datasets.synthetic.events` (the purchase-event draws: windows, seasons,
renewals), :mod:`~recokit.datasets.synthetic.profiles` (the hidden profiles, their purchases,
declared data and consents), :mod:`~recokit.datasets.synthetic.orders` (durables, bundles,
orders, lines, quantities, prices), :mod:`~recokit.datasets.synthetic.web` (views, cart adds and
planted abandoned carts, with ``web_events=True`` only: the default tables are unchanged) and
:mod:`~recokit.datasets.synthetic.shop` (the assembly).
"""

from __future__ import annotations

from recokit.datasets.synthetic.catalogue import CATEGORIES, SPORTS
from recokit.datasets.synthetic.profiles import PROFILES
from recokit.datasets.synthetic.shop import ShopTables, sports_shop, sports_shop_tables

__all__ = ["CATEGORIES", "PROFILES", "SPORTS", "ShopTables", "sports_shop", "sports_shop_tables"]
