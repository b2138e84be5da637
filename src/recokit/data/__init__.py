"""The validated data every model is fitted on.

A :class:`Dataset` holds a shop's interactions (order lines, cart adds, views), its product
catalogue and, optionally, declared customer data. It checks the input once, up front, maps the
shop's ids to contiguous numbers and builds the sparse matrices the models use:

* ``user_items`` -- customers x items, summed interaction weight (quantity x event weight);
* ``basket_items`` -- baskets x items, 1 where the item is in the basket.

Public methods take and return the shop's ids; matrix rows and columns (``*_idx``) stay internal.

The package has one module per job: :mod:`~recokit.data.dataset` (:class:`Dataset`),
:mod:`~recokit.data.idmap` (:class:`IdMap`), :mod:`~recokit.data.frames` (reading input tables),
:mod:`~recokit.data.validation` (column and value checks), :mod:`~recokit.data.time`
(timestamps), :mod:`~recokit.data.weights` (interaction weights), :mod:`~recokit.data.baskets`
(basket numbering), :mod:`~recokit.data.arrays` (array helpers shared by the models),
:mod:`~recokit.data.catalog` (item labels), :mod:`~recokit.data.purchases` (what a reason may
say about a customer's purchases) and :mod:`~recokit.data.pseudonym` (keyed pseudonyms for
customer ids), :mod:`~recokit.data.stats` (the additive count tables of the count-based models),
:mod:`~recokit.data.repeats` (the per-customer repeat-purchase tables of BuyAgain and Renewal),
:mod:`~recokit.data.itemsets` (frequent itemsets of any size, counted exactly) and :mod:`~recokit.data.update` (a Dataset without some customers, or with new rows).

Examples
--------
>>> import polars as pl
>>> from recokit import Dataset
>>> orders = pl.DataFrame({
...     "customer_id": ["ann", "ann", "bob"],
...     "item_id": ["bike", "helmet", "bike"],
...     "order_id": [1, 1, 2],
... })
>>> ds = Dataset(orders, basket_col="order_id")
>>> ds.n_customers, ds.n_items, ds.n_baskets
(2, 2, 2)
>>> ds.item_ids.index(["helmet"]).tolist()
[1]
"""

from __future__ import annotations

from recokit.data.arrays import (
    NO_GROUP,
    all_rows,
    binary_pattern,
    csr_lookup,
    csr_rows,
    entry_rows,
    group_codes,
    ragged_ranges,
    row_positions,
    sorted_unique,
    stable_order,
)
from recokit.data.baskets import assign_baskets
from recokit.data.catalog import item_label, item_labels
from recokit.data.dataset import Dataset
from recokit.data.frames import (
    READ_ERRORS,
    normalise_ids,
    read_error,
    read_id_table,
    read_text_file,
    to_frame,
)
from recokit.data.idmap import IdMap
from recokit.data.pseudonym import MIN_KEY_BYTES, pseudonymise
from recokit.data.purchases import ago, last_purchase
from recokit.data.repeats import (
    CategoryEvents,
    CategoryRepeats,
    CategorySpec,
    PurchaseLines,
    category_codes,
    category_events,
    category_tables,
    event_rows,
    purchase_lines,
    recent_from_us,
)
from recokit.data.stats import (
    CountTables,
    FitsFromTables,
    TableSpec,
    check_tables,
    count_tables,
    min_count_for,
    pair_counts,
    tables_for,
    updated_tables,
)
from recokit.data.time import DAY_US, parse_time
from recokit.data.update import DataChange, add_change, forget_change, id_list
from recokit.data.validation import (
    EXAMPLES,
    check_no_nulls,
    check_prices,
    check_same_dtype,
    check_unique,
    examples,
    reject_rows,
    require_columns,
)
from recokit.data.weights import DEFAULT_EVENT_WEIGHTS, interaction_weight

__all__ = [
    "CategoryEvents",
    "CategoryRepeats",
    "CategorySpec",
    "CountTables",
    "PurchaseLines",
    "category_codes",
    "category_events",
    "category_tables",
    "event_rows",
    "purchase_lines",
    "recent_from_us",
    "DAY_US",
    "DataChange",
    "DEFAULT_EVENT_WEIGHTS",
    "EXAMPLES",
    "NO_GROUP",
    "all_rows",
    "READ_ERRORS",
    "Dataset",
    "IdMap",
    "MIN_KEY_BYTES",
    "add_change",
    "ago",
    "assign_baskets",
    "check_no_nulls",
    "check_prices",
    "check_same_dtype",
    "check_unique",
    "FitsFromTables",
    "TableSpec",
    "check_tables",
    "count_tables",
    "min_count_for",
    "tables_for",
    "csr_lookup",
    "csr_rows",
    "entry_rows",
    "examples",
    "forget_change",
    "group_codes",
    "id_list",
    "interaction_weight",
    "item_label",
    "item_labels",
    "last_purchase",
    "normalise_ids",
    "pair_counts",
    "parse_time",
    "pseudonymise",
    "ragged_ranges",
    "row_positions",
    "sorted_unique",
    "binary_pattern",
    "stable_order",
    "read_error",
    "read_id_table",
    "read_text_file",
    "reject_rows",
    "require_columns",
    "to_frame",
    "updated_tables",
]
