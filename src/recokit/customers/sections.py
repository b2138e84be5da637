"""The order of the shop's sections for each customer: a runner sees running first.

:func:`section_order` ranks the values of a catalogue column (``sport`` by default, else
``category``) for every customer by their share of purchase lines in it over the window, then the
sections they never bought from in the shop's order (its share of lines). A customer without a
purchase in the window -- a prospect, or anonymous: use :func:`shop_sections` -- gets the shop's
order, and the reason says so. Only the customer's own purchases are read (no declared data).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from recokit._errors import DataError
from recokit.customers.orders import purchase_lines, reference
from recokit.data import Dataset, group_codes

__all__ = ["section_order", "shop_sections"]


def _column(dataset: Dataset, by: str | None) -> str:
    if by is None:
        for column in ("sport", "category"):
            if column in dataset.catalog.columns:
                return column
        raise DataError("section_order: the catalogue has neither a 'sport' nor a 'category' column.", hint="pass by='<a catalogue column>'.")
    if by not in dataset.catalog.columns:
        raise DataError(f"section_order: the catalogue has no column {by!r}.", hint=f"its columns are {dataset.catalog.columns}.", column=by)
    return by


def _lines_by_section(dataset: Dataset, column: str, at: Any, window_days: int | None) -> tuple[pl.DataFrame, list[str]]:
    codes, names = group_codes(dataset.catalog[column])
    lines = purchase_lines(dataset, reference(dataset, at, window_days), price="units")
    section = pl.Series("section", codes, dtype=pl.Int64).gather(lines["item_idx"].cast(pl.Int64))
    return pl.DataFrame({"customer_idx": lines["customer_idx"], "section": section}), names


def shop_sections(dataset: Dataset, *, by: str | None = None, at: Any = None, window_days: int | None = 365) -> list[str]:
    """The sections in the shop's order: by their share of all purchase lines in the window, the
    sections nobody bought from last (in catalogue order)."""
    column = _column(dataset, by)
    per, names = _lines_by_section(dataset, column, at, window_days)
    counts = per.group_by("section").len()
    order = dict(zip(counts["section"].to_list(), counts["len"].to_list(), strict=True))
    return [names[s] for s in sorted(range(len(names)), key=lambda s: (-order.get(s, 0), s))]


def section_order(dataset: Dataset, *, by: str | None = None, at: Any = None, window_days: int | None = 365) -> pl.DataFrame:
    """Every customer's order of the shop's sections, with a reason.

    Returns
    -------
    polars.DataFrame
        ``customer_id, sections`` (a list of section names, the customer's first) and ``reason``
        ("62 % of your purchases in running, then cycling (25 %)"; "the shop's order: no
        purchase in the last 365 days"), one row per customer of the dataset.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.customers import section_order
    >>> orders = pl.DataFrame({"customer_id": ["ann", "ann", "ann", "bob", "bob"],
    ...     "item_id": ["shoe", "gel", "tube", "tube", "bike"], "day": ["2025-06-01"] * 5})
    >>> catalog = pl.DataFrame({"item_id": ["shoe", "gel", "tube", "bike", "ski"],
    ...     "sport": ["running", "running", "cycling", "cycling", "ski"]})
    >>> table = section_order(Dataset(orders, catalog, time_col="day"))
    >>> table.rows()
    [('ann', ['running', 'cycling', 'ski'], '67 % of your purchases in running, then cycling (33 %)'), ('bob', ['cycling', 'running', 'ski'], '100 % of your purchases in cycling')]
    """
    column = _column(dataset, by)
    per, names = _lines_by_section(dataset, column, at, window_days)
    shop = shop_sections(dataset, by=column, at=at, window_days=window_days)
    shop_rank = {name: r for r, name in enumerate(shop)}
    counts = per.group_by("customer_idx", "section").len().with_columns(pl.col("section").replace_strict(dict(enumerate(names)), return_dtype=pl.String).alias("name"))
    totals = counts.group_by("customer_idx").agg(pl.col("len").sum().alias("total"))
    counts = counts.join(totals, on="customer_idx").with_columns((pl.col("len") / pl.col("total")).alias("share"))
    counts = counts.with_columns(pl.col("name").replace_strict(shop_rank, return_dtype=pl.Int64).alias("shop_rank")).sort(["customer_idx", "share", "shop_rank"], descending=[False, True, False])
    own = counts.group_by("customer_idx", maintain_order=True).agg(pl.col("name"), pl.col("share"))
    lists: dict[int, list[str]] = {}
    reasons: dict[int, str] = {}
    for c, mine, shares in own.iter_rows():
        lists[c] = mine + [s for s in shop if s not in set(mine)]
        head = f"{round(100 * shares[0])} % of your purchases in {mine[0]}"
        reasons[c] = head + (f", then {mine[1]} ({round(100 * shares[1])} %)" if len(mine) > 1 else "")
    window = "in all history" if window_days is None else f"in the last {window_days} days"
    default = f"the shop's order: no purchase {window}"
    idx = range(dataset.n_customers)
    return pl.DataFrame(
        {
            "customer_id": dataset.customer_ids.series,
            "sections": [lists.get(i, shop) for i in idx],
            "reason": [reasons.get(i, default) for i in idx],
        },
        schema_overrides={"sections": pl.List(pl.String)},
    )
