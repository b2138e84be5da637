"""Association rules: "frequently bought together", mined from baskets and reviewable by a human.

Pairs (``max_len=2``, the common case) are counted exactly from the sparse basket x item matrix
(``B.T @ B`` in integers, never a dense one-hot table). Longer itemsets are counted level by level
from the frequent ones below them (Apriori), reading the sparse basket matrix a bounded piece at
a time (:mod:`recokit.data.itemsets`): exact integer counts, no dense basket matrix, no mlxtend.
Every threshold is compared on integer counts with exact rational arithmetic, so a rule exactly
at a threshold is kept. The metrics are those of mlxtend 0.25's ``association_rules`` (the tests
compare every rule and metric with mlxtend's ``fpgrowth`` + ``association_rules``).
"""

from __future__ import annotations

import datetime as dt
import tomllib
import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError, DataWarning
from recokit.core import (
    Batch,
    CountModel,
    Query,
    Recommendation,
    Recommendations,
    ScoreBlock,
)
from recokit.data import (
    READ_ERRORS,
    CountTables,
    DataChange,
    Dataset,
    TableSpec,
    entry_rows,
    item_label,
    min_count_for,
    ragged_ranges,
    read_error,
)
from recokit.data.itemsets import frequent_itemsets, itemset_rows
from recokit.data.levels import (
    backoff_scores,
    fired_level_rules,
    level_codes,
    level_label,
    level_rules,
    level_tables,
    pick_in_level,
    price_tiers,
    stock_mask,
)
from recokit.params import Boolean, Custom, InstanceOf, Interval, OneOf, Optional, param

__all__ = ["AssociationRules"]

_OWNER = "AssociationRules"
#: separator of the items of a multi-item antecedent / consequent in CSV files
SEP = "|"


# -- exact threshold arithmetic -------------------------------------------------------------
def _fraction(value: float | int) -> Fraction:
    """The rational a person meant: 0.1 is 1/10 (not the binary float nearest to it)."""
    if isinstance(value, (int, np.integer)):
        return Fraction(int(value))
    return Fraction(repr(float(value)))


def _ratio_at_least(num: np.ndarray, den: np.ndarray, threshold: Fraction) -> np.ndarray:
    """``num / den >= threshold`` for integer arrays, exactly (ties are kept).

    A float comparison decides where it is clearly on one side; the few near-ties are decided
    with Python integers, which cannot round.
    """
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    p, q = threshold.numerator, threshold.denominator
    lhs = num.astype(np.float64) * q
    rhs = den.astype(np.float64) * p
    out = lhs >= rhs
    close = np.abs(lhs - rhs) <= 1e-9 * np.maximum(np.abs(lhs), np.abs(rhs))
    for i in np.flatnonzero(close):
        out[i] = int(num[i]) * q >= p * int(den[i])
    return out



def _csr_from_keys(keys: np.ndarray, data: np.ndarray, shape: tuple[int, int]) -> sp.csr_array:
    """The CSR matrix with ``data`` at the sorted, distinct flat keys ``row * n_cols + col``."""
    rows = keys // shape[1]
    indptr = np.searchsorted(rows, np.arange(shape[0] + 1)).astype(np.int64)
    return sp.csr_array((data, (keys % shape[1]).astype(np.int64), indptr), shape=shape)


# -- parameter checks -----------------------------------------------------------------------
def _valid_support(value: Any) -> bool:
    """An int >= 1 (a count of baskets) or a float in (0, 1] (a fraction); never a bool."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return bool(value >= 1)
    return Interval(float, low=0, high=1, low_open=True).accepts(value)


def _valid_review(value: Any) -> bool:
    return isinstance(value, (str, Path)) or (
        isinstance(value, Iterable) and not isinstance(value, (bytes, dict))
    )


_REVIEW = Optional(
    Custom(_valid_review, "a CSV/TOML file path or a list of (antecedent, consequent) pairs")
)


# -- the model ------------------------------------------------------------------------------
class AssociationRules(CountModel):
    """Frequently bought together: rules "who buys A also buys C", mined from baskets.

    Parameters
    ----------
    min_support : float or int
        How often an itemset must occur to be mined. A float in (0, 1] is a fraction of the
        baskets; an int >= 1 is an absolute number of baskets (default: at least 5 orders).
    min_confidence : float
        Keep rules A -> C with ``count(A and C) / count(A) >= min_confidence`` (in [0, 1]).
    min_lift : float, optional
        Keep rules with lift >= ``min_lift`` (default 1.0: C is bought with A at least as often
        as on average). None keeps every lift.
    max_len : int or None
        Largest itemset (antecedent + consequent). 2 (default) mines pairs; larger values (or
        None: no limit) mine longer itemsets level by level (Apriori: each level from the
        frequent itemsets of the level below). Every count is exact, read from the sparse
        basket matrix (no dense baskets x items array).
    max_basket_size : int, optional
        Baskets with more distinct items are left out of mining (a few huge baskets make itemset
        mining explode); how many is stored in ``n_baskets_excluded_`` and reported in a
        :class:`~recokit.DataWarning`. They still serve as a customer's context when scoring.
    metric : {'confidence', 'lift'}
        What a rule contributes to an item's score.
    aggregate : {'max', 'sum', 'weighted'}
        How the rules that fire for one item combine: the best rule (default), the sum, or the
        mean weighted by each rule's support count.
    recent_baskets : int
        For a known customer without context items, the context is the union of their last
        ``recent_baskets`` baskets (before the query's ``now``).
    rejected : path or list of (antecedent, consequent), optional
        Rules a merchandiser rejected: never used for scoring (they stay in ``rules_`` with
        ``status = 'rejected'``). A CSV file with ``antecedent`` and ``consequent`` columns
        (several items joined with ``|``, like :meth:`export_rules` writes them), a TOML file
        with ``[[rule]]`` tables (``antecedent = "B001"`` or a list, ``consequent = ...``), or a
        list of pairs whose sides are an item id or a list of item ids.
    approved : path or list of (antecedent, consequent), optional
        Rules a merchandiser approved (same formats); marked ``status = 'approved'``.
    approved_only : bool
        Score with approved rules only ("the algorithm proposes, the merchandiser decides").
    level : str, optional
        A product-hierarchy column of the catalogue (``"category"``): rules are also mined
        between its values (``level_rules_``), and :meth:`bundle` offers one product of each
        value associated with the product's own -- the pack is found even when each accessory
        is split over many products.
    level_scores : bool
        Also score with the level's rules, from the context items (product page, cart): an item
        no item rule points to gets its value rule's estimate (see docs/models/association.md).
    stock_column : str or None
        The catalogue column :meth:`bundle` reads stock from (default ``'stock'``; > 0 / True is
        in stock, null is not); ignored when absent.
    price_column : str or None
        The catalogue column whose thirds inside each ``level`` value make a bundle prefer a
        product of the anchor's price tier (default ``'price'``); ignored when absent.

    Attributes
    ----------
    rules_ : polars.DataFrame
        One row per mined rule (see :meth:`export_rules`): ``antecedent``, ``consequent`` (lists
        of item ids), ``antecedent_name``, ``consequent_name`` (when the catalogue has a ``name``
        column), ``antecedent_count``, ``consequent_count``, ``count``, ``n_baskets``, the metrics
        ``antecedent_support, consequent_support, support, confidence, lift, leverage,
        conviction`` (as mlxtend defines them; conviction is ``inf`` when confidence is 1) and
        ``status`` (``'proposed'``, ``'approved'`` or ``'rejected'``). Sorted by confidence,
        then count, descending; ties by the shorter antecedent, then the antecedent's items,
        then the consequent's (in item_idx order): the order is total, so deterministic.
    n_baskets_ : int
        Baskets mined (after ``max_basket_size``).
    n_baskets_excluded_ : int
        Baskets left out by ``max_basket_size``.
    item_counts_ : np.ndarray
        Baskets containing each item (int64, item_idx order).
    cooccurrence_ : scipy.sparse.csr_array
        Upper triangle (``i < j``) of the item x item co-occurrence counts (int64) of every pair
        of *frequent* items (``item_counts_ >= min_count_``): with ``item_counts_`` and
        ``n_baskets_``, the sufficient statistics of pair mining. Pairs with an infrequent item
        cannot be frequent and are not counted (an update that makes an item frequent recounts
        its column from the baskets).
    min_count_ : int
        The support threshold as a number of baskets.
    level_rules_ : polars.DataFrame or None
        With ``level``: one row per rule between two values of the column (``antecedent``,
        ``consequent``, ``antecedent_count``, ``consequent_count``, ``count``, ``n_baskets``,
        ``confidence``, ``lift``), sorted by confidence, then count; None without ``level``.
    level_values_ : list of str or None
        The column's values, in order of first appearance in the catalogue.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import AssociationRules, Dataset
    >>> orders = pl.DataFrame({
    ...     "customer_id": [1, 1, 1, 2, 2, 3, 3, 4],
    ...     "order_id": [10, 10, 10, 20, 20, 30, 30, 40],
    ...     "item_id": ["bike", "helmet", "lock", "bike", "helmet", "bike", "lock", "lock"],
    ... })
    >>> model = AssociationRules(min_support=2, min_confidence=0.5, min_lift=None)
    >>> model = model.fit(Dataset(orders, basket_col="order_id"))
    >>> model.rules_.select("antecedent", "consequent", "count", "confidence").head(2)
    shape: (2, 4)
    ┌────────────┬────────────┬───────┬────────────┐
    │ antecedent ┆ consequent ┆ count ┆ confidence │
    │ ---        ┆ ---        ┆ ---   ┆ ---        │
    │ list[str]  ┆ list[str]  ┆ i64   ┆ f64        │
    ╞════════════╪════════════╪═══════╪════════════╡
    │ ["helmet"] ┆ ["bike"]   ┆ 2     ┆ 1.0        │
    │ ["bike"]   ┆ ["helmet"] ┆ 2     ┆ 0.666667   │
    └────────────┴────────────┴───────┴────────────┘
    >>> [r.item_id for r in model.bundle("bike", k=2)]
    ['lock', 'helmet']
    >>> model.bundle("bike", k=1)[0].reason
    'bought with bike in 67% of its baskets (2 of 3)'
    """

    min_support: float | int = param(
        default=5,
        check=Custom(_valid_support, "a fraction in (0, 1] (float) or a count >= 1 (int)"),
        doc="How often an itemset must occur to be mined. A float in (0, 1] is a fraction of the baskets; an int "
        ">= 1 is an absolute number of baskets (default: at least 5 orders).",
    )
    min_confidence: float = param(
        default=0.1,
        check=Interval(float, low=0, high=1),
        doc="Keep rules A -> C with ``count(A and C) / count(A) >= min_confidence``.",
    )
    min_lift: float | None = param(
        default=1.0,
        check=Optional(Interval(float, low=0)),
        doc="Keep rules with lift >= ``min_lift`` (default 1.0: C is bought with A at least as often as on "
        "average). None keeps every lift.",
    )
    max_len: int | None = param(
        default=2,
        check=Optional(Interval(int, low=2)),
        doc="Largest itemset (antecedent + consequent). 2 (default) mines pairs; larger values (or None: no limit) "
        "mine longer itemsets level by level from the frequent ones below them. Every count is exact, read from the "
        "sparse basket matrix (no dense baskets x items array).",
    )
    max_basket_size: int | None = param(
        default=None,
        check=Optional(Interval(int, low=2)),
        doc="Baskets with more distinct items are left out of mining (a few huge baskets make itemset mining "
        "explode); how many is stored in ``n_baskets_excluded_`` and reported in a ``DataWarning``. They still "
        "serve as a customer's context when scoring.",
    )
    metric: Literal["confidence", "lift"] = param(
        default="confidence",
        check=OneOf("confidence", "lift"),
        doc="What a rule contributes to an item's score.",
    )
    aggregate: Literal["max", "sum", "weighted"] = param(
        default="max",
        check=OneOf("max", "sum", "weighted"),
        doc="How the rules that fire for one item combine: the best rule (default), the sum, or the mean weighted "
        "by each rule's support count.",
    )
    recent_baskets: int = param(
        default=1,
        check=Interval(int, low=1),
        doc="For a known customer without context items, the context is the union of their last "
        "``recent_baskets`` baskets (before the query's ``now``).",
    )
    rejected: str | Path | Sequence[Any] | None = param(
        default=None,
        check=_REVIEW,
        doc="Rules a merchandiser rejected: never used for scoring (they stay in ``rules_`` with ``status = "
        "'rejected'``). A CSV file with ``antecedent`` and ``consequent`` columns (several items joined with "
        "``|``, like ``export_rules`` writes them), a TOML file with ``[[rule]]`` tables (``antecedent = "
        '"B001"`` or a list, ``consequent = ...``), or a list of pairs whose sides are an item id or a list of '
        "item ids.",
    )
    approved: str | Path | Sequence[Any] | None = param(
        default=None,
        check=_REVIEW,
        doc="Rules a merchandiser approved (same formats); marked ``status = 'approved'``.",
    )
    approved_only: bool = param(
        default=False,
        check=Boolean(),
        doc='Score with approved rules only ("the algorithm proposes, the merchandiser decides"); needs ``approved``.',
    )
    level: str | None = param(
        default=None,
        check=Optional(InstanceOf(str)),
        doc='A product-hierarchy column of the catalogue (``"category"``, ``"sport"``...): rules are also mined between '
        "its values, with the same thresholds (``level_rules_``), and ``bundle`` offers one product of each value "
        "associated with the product's own (a helmet, a pump, a lock with a bike) even when each pair of products "
        "is too rare for an item rule. None: item rules only.",
    )
    level_scores: bool = param(
        default=False,
        check=Boolean(),
        doc="Also score with the level's rules (needs ``level``): an item no item rule points to gets the estimate "
        "of its value's rule (confidence: the value rule's confidence times the item's share of its value's sales; "
        "lift: the value rule's lift), so a product page or cart is filled from the category association. Item "
        "rules keep their own score; an item a rejected rule points to is never backed off.",
    )
    stock_column: str | None = param(
        default="stock",
        check=Optional(InstanceOf(str)),
        doc="Numeric or boolean catalogue column ``bundle`` reads: a product is offered only when > 0 / True (null: "
        "out of stock). Ignored when the catalogue has no such column; None: stock is not read.",
    )
    price_column: str | None = param(
        default="price",
        check=Optional(InstanceOf(str)),
        doc="Numeric catalogue column whose thirds inside each ``level`` value (cheap, middle, dear) let ``bundle`` "
        "prefer a product of the anchor's price tier. Ignored when absent; None: no price tier.",
    )

    # -- validation ---------------------------------------------------------------------------
    def _check_together(self) -> None:
        if self.approved_only and self.approved is None:
            raise ConfigError(
                f"{_OWNER}(approved_only=True) needs the approved rules. Got approved=None.", hint="pass approved='approved_rules.csv' (or a list of (antecedent, consequent) pairs)."
            )
        if self.level_scores and self.level is None:
            raise ConfigError(f"{_OWNER}(level_scores=True) needs the level whose rules score. Got level=None.", hint="pass level='category' (a catalogue column).")
        if self.approved_only and self.level is not None:
            raise ConfigError(
                f"{_OWNER}(approved_only=True, level={self.level!r}): the rules between {self.level} values are not reviewed, so a bundle or "
                "a back-off score would offer what no merchandiser approved.",
                hint="use level=None with approved_only=True, or approved_only=False.",
            )

    #: the most specific evidence: this very basket or product page
    specificity: ClassVar[int] = 60

    def signal(self) -> str:
        """``"bought together"`` (``"chosen together"`` when baskets hold views or cart adds)."""
        return "bought together" if not self.is_fitted or self.dataset_.only_purchases else "chosen together"

    # -- fitting -------------------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        self.validate_params()
        mining = mine_rules(
            self._mined_baskets(dataset),
            min_support=self.min_support,
            min_confidence=self.min_confidence,
            min_lift=self.min_lift,
            max_len=self.max_len,
        )
        self._derive(dataset, mining)

    def _kept(self, baskets: sp.csr_array) -> np.ndarray:
        """Which baskets are mined (``max_basket_size``)."""
        sizes = np.diff(baskets.indptr)
        return sizes <= self.max_basket_size if self.max_basket_size is not None else np.ones(len(sizes), dtype=bool)

    def _mined_baskets(self, dataset: Dataset) -> sp.csr_array:
        """The baskets rules are mined from, saying (DataWarning) how many are left out and when
        no rule can be mined."""
        basket_items = sp.csr_array(dataset.basket_items)
        sizes = np.diff(basket_items.indptr)
        keep = self._kept(basket_items)
        self._warn_mined(int((~keep).sum()), len(sizes), bool((sizes[keep] >= 2).any()), stacklevel=5)
        return basket_items[np.flatnonzero(keep)] if self.n_baskets_excluded_ else basket_items

    def _warn_mined(self, n_excluded: int, n_total: int, any_pair: bool, stacklevel: int) -> None:
        """Record ``n_baskets_excluded_``; a DataWarning for baskets left out, and when no basket
        holds two items (no rule can be mined)."""
        self.n_baskets_excluded_ = n_excluded
        if n_excluded:
            warnings.warn(
                f"{_OWNER}: {n_excluded} of {n_total} baskets have more than "
                f"max_basket_size={self.max_basket_size} items and were left out of rule mining.",
                DataWarning,
                stacklevel=stacklevel,
            )
        if not any_pair:
            warnings.warn(
                f"{_OWNER}: no basket has two or more items, so no rule can be mined; every score will be "
                "'no opinion' (NaN).\nHint: baskets are orders (basket_col=...) or a customer's purchases of one "
                "day (time_col=...); without either, check the Dataset's basket definition.",
                DataWarning,
                stacklevel=stacklevel,
            )

    def table_spec(self) -> TableSpec | None:
        """The count tables the fit derives from (:class:`recokit.data.FitsFromTables`): for
        pairs (``max_len=2``) the basket tables over the baskets within ``max_basket_size``, pairs
        of frequent items only; None for longer itemsets (mlxtend mines the baskets)."""
        if self.max_len != 2:
            return None
        return TableSpec(baskets=True, max_basket_size=self.max_basket_size, pair_min_support=self.min_support)

    def _not_from_tables(self) -> tuple[str, str]:
        return f"itemsets longer than pairs (max_len={self.max_len}) are mined from the baskets, not from count tables.", "fit it with fit(dataset), or use max_len=2."

    def _fit_tables(self, dataset: Dataset, tables: CountTables) -> None:
        assert tables.item_baskets is not None and tables.basket_pairs is not None  # check_tables
        n, counts = tables.n_baskets, tables.item_baskets
        # each basket holds an item: the baskets hold more items than there are baskets iff one holds two
        self._warn_mined(tables.n_baskets_excluded, n + tables.n_baskets_excluded, int(counts.sum()) > n, stacklevel=6)
        min_count = min_count_for(self.min_support, n)
        frequent = counts >= min_count
        cooc = _pairs_where(_upper_triangle(sp.csr_array(tables.basket_pairs, copy=True)), lambda r, c: frequent[r] & frequent[c])
        rules = _filter_and_sort(_pair_rules(cooc, counts, min_count), n, self.min_confidence, self.min_lift)
        self._derive(dataset, {"n_baskets": int(n), "item_counts": counts, "cooccurrence": cooc, "min_count": min_count, "rules": rules})

    def _update(self, previous: AssociationRules, change: DataChange) -> None:
        """Pairs: the count tables (baskets, baskets per item, frequent pairs) carried through the
        change from the moved customers' baskets (and, for an item that becomes frequent, the
        baskets holding it); longer itemsets are mined again."""
        mined = self._mined_baskets(change.after)  # the same counts and warnings as a fit
        if self.max_len != 2:
            self._fit(change.after)
            return
        mining = _updated_pairs(previous, change, self._kept, mined)
        mining["rules"] = _filter_and_sort(
            _pair_rules(mining["cooccurrence"], mining["item_counts"], mining["min_count"]), mining["n_baskets"], self.min_confidence, self.min_lift
        )
        self._derive(change.after, mining)

    def _derive(self, dataset: Dataset, mining: dict[str, Any]) -> None:
        """The fitted state from the mined counts and rules."""
        self.n_baskets_ = mining["n_baskets"]
        self.min_count_ = mining["min_count"]
        self.item_counts_ = mining["item_counts"]
        self.cooccurrence_ = mining["cooccurrence"]
        rules = mining["rules"]
        status = self._review(dataset, rules)
        self._rule_arrays_ = rules
        self.rules_ = self._rules_frame(dataset, rules, status)
        self._build_scorer(dataset, rules, status)
        self._build_histories(dataset)
        self._derive_levels(dataset, rules, status)

    def _review(self, dataset: Dataset, rules: dict[str, np.ndarray]) -> np.ndarray:
        """Status per rule: 0 proposed, 1 approved, 2 rejected."""
        keys = _rule_keys(rules)
        status = np.zeros(len(keys), dtype=np.int8)
        self.review_unmatched_ = {"rejected": 0, "approved": 0}
        for which, source, code in (("approved", self.approved, 1), ("rejected", self.rejected, 2)):
            if source is None:
                continue
            wanted = _load_review(source, dataset, which)
            index = {k: i for i, k in enumerate(keys)}
            hits = [index[k] for k in wanted if k in index]
            status[hits] = code
            self.review_unmatched_[which] = len(wanted) - len(hits)
        return status

    def _rules_frame(self, dataset: Dataset, rules: dict[str, np.ndarray], status: np.ndarray) -> pl.DataFrame:
        n = self.n_baskets_
        ca, cc, cab = rules["antecedent_count"], rules["consequent_count"], rules["count"]
        metrics = rule_metrics(cab, ca, cc, n)
        ids = dataset.item_ids.series
        frame = pl.DataFrame(
            {
                "antecedent": _ragged(ids, rules["antecedent"], rules["antecedent_ptr"]),
                "consequent": _ragged(ids, rules["consequent"], rules["consequent_ptr"]),
            }
        )
        if "name" in dataset.catalog.columns:
            names = dataset.catalog["name"].cast(pl.String)
            frame = frame.with_columns(
                antecedent_name=_ragged(names, rules["antecedent"], rules["antecedent_ptr"]),
                consequent_name=_ragged(names, rules["consequent"], rules["consequent_ptr"]),
            )
        labels = np.array(["proposed", "approved", "rejected"])
        return frame.with_columns(
            pl.Series("antecedent_count", ca, dtype=pl.Int64),
            pl.Series("consequent_count", cc, dtype=pl.Int64),
            pl.Series("count", cab, dtype=pl.Int64),
            pl.lit(n, dtype=pl.Int64).alias("n_baskets"),
            *(pl.Series(k, v, dtype=pl.Float64) for k, v in metrics.items()),
            pl.Series("status", labels[status], dtype=pl.String),
        )

    def _build_scorer(self, dataset: Dataset, rules: dict[str, np.ndarray], status: np.ndarray) -> None:
        """Index the usable single-consequent rules: items x rules incidence of antecedents."""
        n_cons = np.diff(rules["consequent_ptr"])
        usable = (n_cons == 1) & (status != 2)
        if self.approved_only:
            usable &= status == 1
        rows = np.flatnonzero(usable)
        a_ptr = rules["antecedent_ptr"]
        sizes = np.diff(a_ptr)[rows]
        flat = np.concatenate([rules["antecedent"][a_ptr[r] : a_ptr[r + 1]] for r in rows]) if len(rows) else np.empty(0, np.int64)
        rule_col = np.repeat(np.arange(len(rows)), sizes)
        incidence = sp.csr_array(
            (np.ones(len(flat), dtype=np.int32), (flat, rule_col)), shape=(dataset.n_items, len(rows))
        )
        incidence.sum_duplicates()
        conf = rules["count"][rows] / rules["antecedent_count"][rows]
        lift = conf / (rules["consequent_count"][rows] / self.n_baskets_) if len(rows) else conf
        self._incidence_ = incidence
        self._rule_row_ = rows.astype(np.int64)
        self._rule_size_ = sizes.astype(np.int64)
        self._rule_cons_ = rules["consequent"][rules["consequent_ptr"][rows]].astype(np.int64)
        self._rule_value_ = (conf if self.metric == "confidence" else lift).astype(np.float64)
        self._rule_weight_ = rules["count"][rows].astype(np.float64)

    def _build_histories(self, dataset: Dataset) -> None:
        cust = dataset.basket_customer_idx
        order = np.lexsort((np.arange(len(cust)), cust))  # basket_idx is already in time order
        self._cust_baskets_ = order.astype(np.int64)
        self._cust_ptr_ = np.concatenate([[0], np.cumsum(np.bincount(cust, minlength=dataset.n_customers))]).astype(np.int64)
        self._basket_matrix_ = sp.csr_array(dataset.basket_items)

    # -- scoring ------------------------------------------------------------------------------
    def _recent_items(self, customer_idx: np.ndarray, now: dt.datetime | None) -> tuple[np.ndarray, np.ndarray]:
        """``(position, item)`` pairs (repeats possible): the items of each customer's last
        ``recent_baskets`` baskets up to ``now``, ``position`` indexing ``customer_idx``."""
        starts, stops = self._cust_ptr_[customer_idx], self._cust_ptr_[customer_idx + 1]
        times = self.dataset_.basket_time
        if now is not None and times is not None:
            # a customer's baskets are in time order: those up to ``now`` are a prefix
            cut = np.datetime64(now, "us")
            take = ragged_ranges(starts, stops)
            owner = np.repeat(np.arange(len(starts)), stops - starts)
            stops = starts + np.bincount(owner[times[self._cust_baskets_[take]] <= cut], minlength=len(starts))
        lo = np.maximum(stops - self.recent_baskets, starts)
        chosen = self._cust_baskets_[ragged_ranges(lo, stops)]
        owner = np.repeat(np.arange(len(lo)), stops - lo)
        m = self._basket_matrix_
        first, last = m.indptr[chosen], m.indptr[chosen + 1]
        return np.repeat(owner, last - first), m.indices[ragged_ranges(first, last)].astype(np.int64)

    def _contexts(self, batch: Batch) -> sp.csr_array:
        """Each row's antecedent side (rows x items, int32 ones): its context items, else (a
        known customer without context) the items of their last baskets, else nothing."""
        need = np.flatnonzero(batch.known & ~batch.has_context)
        if not len(need):
            return batch.context
        pos, items = self._recent_items(batch.customer_idx[need], batch.now)
        ctx = batch.context
        rows = np.concatenate([entry_rows(ctx.indptr), need[pos]])
        keys = np.unique(rows * batch.n_items + np.concatenate([ctx.indices, items]))
        return _csr_from_keys(keys, np.ones(len(keys), dtype=np.int32), (batch.n, batch.n_items))

    def _fire(self, context: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
        """(row, rule) pairs of the rules whose whole antecedent lies in each context row."""
        hits = sp.csr_array(context.astype(np.int32) @ self._incidence_)
        hits.eliminate_zeros()
        rows = entry_rows(hits.indptr)
        fired = hits.data == self._rule_size_[hits.indices]
        return rows[fired], hits.indices[fired].astype(np.int64)

    def _score_rows(self, context: sp.csr_array) -> sp.csr_array:
        """Scores (stored = an opinion) of the consequents of the rules fired by each row."""
        n_rows, n_items = context.shape[0], self.dataset_.n_items
        rows, rules = self._fire(context)
        flat = rows * n_items + self._rule_cons_[rules]
        values = self._rule_value_[rules]
        cells, cell = np.unique(flat, return_inverse=True)
        if self.aggregate == "max":
            out = np.full(len(cells), -np.inf)
            np.maximum.at(out, cell, values)  # rule values are finite
        elif self.aggregate == "sum":
            out = np.bincount(cell, weights=values, minlength=len(cells))
        else:
            weights = self._rule_weight_[rules]
            total = np.bincount(cell, weights=weights * values, minlength=len(cells))
            norm = np.bincount(cell, weights=weights, minlength=len(cells))
            seen = norm > 0
            cells, out = cells[seen], total[seen] / norm[seen]
        return _csr_from_keys(cells, out, (n_rows, n_items))

    def _score(self, batch: Batch) -> ScoreBlock:
        context = self._contexts(batch)
        scores = self._score_rows(context)
        # the level backs off for the items on screen or in the cart only: measured on the sports shop, it
        # lifts basket completion and lowers next-purchase ranking from a customer's last basket
        return ScoreBlock.sparse(self._with_level_scores(batch.context, scores) if self.level_scores else scores)

    def _best_rules(self, batch: Batch, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Per ``(rows[j], items[j])``: the row of ``rules_`` of the strongest fired rule
        recommending the item (ties: more baskets, then the earlier rule), -1 when none fires."""
        n_items = self.dataset_.n_items
        uniq, local = np.unique(rows, return_inverse=True)
        f_row, f_rule = self._fire(self._contexts(batch.take(uniq)))
        f_key = f_row * n_items + self._rule_cons_[f_rule]
        want = local * n_items + items
        hit = np.isin(f_key, want)
        f_key, f_rule = f_key[hit], f_rule[hit]
        order = np.lexsort((self._rule_row_[f_rule], -self._rule_weight_[f_rule], -self._rule_value_[f_rule], f_key))
        f_key, f_rule = f_key[order], f_rule[order]
        first = np.r_[True, f_key[1:] != f_key[:-1]] if len(f_key) else np.empty(0, dtype=bool)
        keys, best = f_key[first], self._rule_row_[f_rule[first]]
        out = np.full(len(want), -1, dtype=np.int64)
        if len(keys):
            pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
            found = keys[pos] == want
            out[found] = best[pos[found]]
        return out

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        best = self._best_rules(batch, np.asarray(rows, np.int64), np.asarray(items, np.int64))
        texts: list[str | None] = [None if r < 0 else self._rule_text(r) for r in best.tolist()]
        if self.level_scores and None in texts:
            texts = self._level_texts(batch, np.asarray(rows, np.int64), np.asarray(items, np.int64), texts)
        return texts

    def _rule_text(self, row: int) -> str:
        r = self._rule_arrays_
        ante = r["antecedent"][r["antecedent_ptr"][row] : r["antecedent_ptr"][row + 1]]
        names = [self._item_label(int(i)) for i in ante]
        cab, ca = int(r["count"][row]), int(r["antecedent_count"][row])
        pct = f"{100 * cab / ca:.0f}%"
        # baskets of views / cart adds are not purchases: say "chosen", never a false "bought"
        verb = "bought" if self.dataset_.only_purchases else "chosen"
        if len(names) == 1:
            text = f"{verb} with {names[0]} in {pct} of its baskets ({cab} of {ca})"
        else:
            text = f"{verb} in {pct} of the baskets with {' and '.join(names)} ({cab} of {ca})"
        if self.metric == "lift":
            lift = (cab / ca) / (int(r["consequent_count"][row]) / self.n_baskets_)
            text += f", {lift:.1f}x more often than on average"
        return text

    def _item_label(self, item_idx: int) -> str:
        return item_label(self.dataset_, item_idx)

    # -- public helpers -----------------------------------------------------------------------
    def bundle(
        self,
        item_id: Hashable,
        k: int = 3,
        *,
        one_per: str | None = None,
        exclude: Sequence[Hashable] = (),
        dataset: Dataset | None = None,
    ) -> Recommendations:
        """The pack for one product: ``k`` products to offer with it, best first, with reasons.

        With ``level`` (e.g. ``level="category"``), the pack is one product of each value
        associated with the product's own, strongest rule first (a helmet, a pump and a lock
        with a bike): the values' rules find the pack even when each pair of products is too
        rare for an item rule. Inside a value, the product is the one most often bought with
        this very product when that pair has at least ``min_count_`` baskets, else the best
        seller of the product's price tier (``price_column``), else the value's best seller.
        The product's own value is never offered, a value without an allowed product is
        skipped (the next one takes its place), and a pair a merchandiser rejected is never
        offered. A product without a ``level`` value gets the item rules' pack.

        Without ``level``, the ``k`` items its rules suggest most strongly; ``one_per="category"``
        keeps only the best item of each value of that catalogue column.

        Either way only products with evidence are returned (no back-fill), so the list may be
        shorter than ``k`` -- empty for a product without rules or unknown to the fitted data
        (a new product is a cold start, not an error); a product out of stock (``stock_column``
        <= 0, False or null, when the catalogue has that column) or in ``exclude`` is never
        offered.

        .. versionchanged:: 0.2.0
           ``level``; out-of-stock products are no longer offered; ``exclude`` and ``dataset``.

        Parameters
        ----------
        item_id
            The product on screen.
        k : int
            At most this many products.
        one_per : str, optional
            Without ``level``: keep the best item of each value of this catalogue column.
        exclude : list of item ids
            Products never to offer.
        dataset : Dataset, optional
            Read stock and prices from this dataset (e.g. ``shop.with_catalog(fresh_stock)``)
            instead of the fitted one: stock changes need no refit.

        Examples
        --------
        >>> import polars as pl
        >>> from recokit import AssociationRules, Dataset
        >>> orders = pl.DataFrame({"customer_id": [1, 1, 2, 2], "order_id": [1, 1, 2, 2],
        ...                        "item_id": ["bike", "pump", "bike", "pump"]})
        >>> AssociationRules(min_support=2).fit(Dataset(orders, basket_col="order_id")).bundle("bike").item_ids
        ['pump']
        >>> catalog = pl.DataFrame({"item_id": ["b1", "b2", "h1", "h2"], "category": ["bike", "bike", "helmet", "helmet"],
        ...                         "stock": [3, 4, 0, 9]})
        >>> orders = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 3], "order_id": [1, 1, 2, 2, 3, 3],
        ...                        "item_id": ["b1", "h1", "b2", "h2", "b1", "h2"]})
        >>> model = AssociationRules(min_support=2, level="category").fit(Dataset(orders, catalog, basket_col="order_id"))
        >>> pack = model.bundle("b1", k=3)          # h1 sells with b1, but is out of stock
        >>> pack.item_ids, pack[0].reason
        (['h2'], 'bought with bike: helmet in 100% of bike baskets (3 of 3); the best-selling helmet')
        """
        self._check_fitted()
        query = Query(items=[item_id], k=k, exclude=exclude)
        allowed = self._offerable(query, dataset)
        anchor = self.dataset_.item_ids.get(item_id)
        lv = getattr(self, "_level_", None)  # a model saved before levels existed bundles by item rules
        if lv is not None and anchor is not None and lv["codes"][anchor] >= 0:
            if one_per not in (None, self.level):
                raise ConfigError(
                    f"bundle(one_per={one_per!r}): this model bundles by level={self.level!r}, one product per {self.level} value.",
                    hint=f"drop one_per (or pass one_per={self.level!r}); for another column, fit AssociationRules(level={one_per!r}).",
                )
            return self._level_bundle(anchor, query, allowed, dataset)
        return self._item_bundle(query, one_per, allowed)

    def _offerable(self, query: Query, dataset: Dataset | None) -> np.ndarray:
        """Which products a bundle may offer: in stock (when the catalogue says), not excluded."""
        ds = self.dataset_
        if dataset is not None and dataset.item_ids != ds.item_ids:
            raise DataError("bundle(dataset=...): the dataset's items differ from the fitted ones.", hint="use fitted.with_catalog(new_catalog).")
        stock = stock_mask((dataset or ds).catalog, self.stock_column, f"{_OWNER}.bundle")
        allowed = np.ones(ds.n_items, dtype=bool) if stock is None else stock.copy()
        out = ds.item_ids.index(list(query.exclude), missing="ignore")
        allowed[out[out >= 0]] = False
        return allowed

    def _item_bundle(self, query: Query, one_per: str | None, allowed: np.ndarray) -> Recommendations:
        """The item rules' pack: the strongest rules' consequents that may be offered."""
        cat = self.dataset_.catalog
        if one_per is not None and one_per not in cat.columns:
            raise ConfigError(
                f"bundle(one_per={one_per!r}): the catalog has no column {one_per!r}.", hint=f"choose one of {cat.columns}."
            )
        ranked = self.recommend(Query(items=query.items, k=self.dataset_.n_items, exclude=query.exclude), backfill=False)
        groups = cat[one_per].to_list() if one_per is not None else None
        seen: set[Any] = set()
        kept: list[Recommendation] = []
        for rec in ranked:
            idx = self.dataset_.item_ids.get(rec.item_id)
            assert idx is not None  # a recommended item is a catalogue item
            if not allowed[idx] or (groups is not None and groups[idx] in seen):
                continue
            if groups is not None:
                seen.add(groups[idx])
            kept.append(replace(rec, rank=len(kept) + 1))
            if len(kept) == query.k:
                break
        return Recommendations(items=tuple(kept), query=query)

    def export_rules(self, path: str | Path) -> Path:
        """Write ``rules_`` to a CSV file a merchandiser can open in a spreadsheet.

        Multi-item sides are joined with ``|``; the file (or rows cut from it) can be given back
        as ``rejected=`` or ``approved=``.
        """
        self._check_fitted()
        path = Path(path)
        lists = [c for c, t in self.rules_.schema.items() if isinstance(t, pl.List)]
        self.rules_.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(SEP) for c in lists).write_csv(path)
        return path

    # -- catalogue levels (level=...): rules between the values of a hierarchy column ------------
    def _derive_levels(self, dataset: Dataset, rules: dict[str, np.ndarray], status: np.ndarray) -> None:
        """``level_rules_`` and what bundles and back-off scores read, from the mined baskets;
        None without ``level``. The rejected item rules are indexed too: never offered back."""
        self.level_rules_: pl.DataFrame | None = None
        self.level_values_: list[str] | None = None
        self._level_: dict[str, np.ndarray] | None = None
        self._level_members_: sp.csr_array | None = None
        if self.level is None:
            return
        where = f"{_OWNER}(level={self.level!r})"
        codes, names = level_codes(dataset.catalog, self.level, where)
        stock_mask(dataset.catalog, self.stock_column, where)  # a stock or price column bundles cannot read fails the fit, not a request
        tiers = price_tiers(dataset.catalog, self.price_column, codes, where)
        if (codes < 0).any():
            warnings.warn(
                f"{_OWNER}: {int((codes < 0).sum())} of {len(codes)} products have no {self.level!r} value (null): they are in no "
                f"{self.level} rule, and their bundles are the item rules'.\nHint: fill the catalogue's {self.level!r} column.",
                DataWarning,
                stacklevel=4,
            )
        baskets = sp.csr_array(dataset.basket_items)
        keep = self._kept(baskets)
        counts, pairs = level_tables(baskets if keep.all() else sp.csr_array(baskets[np.flatnonzero(keep)]), codes, len(names))
        lr = level_rules(counts, pairs, self.n_baskets_, min_count=self.min_count_, min_confidence=self.min_confidence, min_lift=self.min_lift)
        conf = lr["count"] / np.maximum(lr["antecedent_count"], 1)
        lift = conf / (lr["consequent_count"] / max(self.n_baskets_, 1))
        values = pl.Series("v", names, dtype=pl.String)
        self.level_rules_ = pl.DataFrame(
            {
                "antecedent": values.gather(lr["antecedent"]), "consequent": values.gather(lr["consequent"]),
                "antecedent_count": lr["antecedent_count"], "consequent_count": lr["consequent_count"], "count": lr["count"],
                "n_baskets": np.full(len(conf), self.n_baskets_, dtype=np.int64), "confidence": conf, "lift": lift,
            }
        )  # fmt: skip
        self.level_values_ = names
        by_ante = np.argsort(lr["antecedent"], kind="stable")  # each value's rules stay strongest first
        state = {key: lr[key][by_ante] for key in lr}
        state["value"] = (conf if self.metric == "confidence" else lift)[by_ante].astype(np.float64)
        state["ptr"] = np.searchsorted(state["antecedent"], np.arange(len(names) + 1)).astype(np.int64)
        state["codes"] = codes
        state["tiers"] = tiers  # of the fitted catalogue; bundle(dataset=...) reads the given one's
        state.update(self._rejected_index(rules, status))
        self._level_ = state
        sold = (self.item_counts_ > 0) & (codes >= 0)
        share = self.item_counts_ / np.maximum(np.bincount(codes[sold], weights=self.item_counts_[sold], minlength=len(names)), 1)[np.maximum(codes, 0)]
        data = share[sold] if self.metric == "confidence" else np.ones(int(sold.sum()))
        self._level_members_ = sp.csr_array((data, (codes[sold], np.flatnonzero(sold))), shape=(len(names), dataset.n_items))

    def _rejected_index(self, rules: dict[str, np.ndarray], status: np.ndarray) -> dict[str, np.ndarray]:
        """The rejected single-consequent rules: flat antecedent items with their rule, and each
        rule's size and consequent (what a level must never offer back)."""
        rows = np.flatnonzero((status == 2) & (np.diff(rules["consequent_ptr"]) == 1))
        a_ptr = rules["antecedent_ptr"]
        sizes = (a_ptr[rows + 1] - a_ptr[rows]).astype(np.int64)
        return {
            "rejected_items": rules["antecedent"][ragged_ranges(a_ptr[rows], a_ptr[rows + 1])].astype(np.int64),
            "rejected_rule": np.repeat(np.arange(len(rows), dtype=np.int64), sizes),
            "rejected_size": sizes,
            "rejected_cons": rules["consequent"][rules["consequent_ptr"][rows]].astype(np.int64),
        }

    def _rejected_keys(self, context: sp.csr_array) -> np.ndarray:
        """Flat ``row * n_items + item`` keys of the rejected rules whose antecedent is in each row."""
        lv = self._level_
        assert lv is not None
        if not len(lv["rejected_size"]):
            return np.empty(0, dtype=np.int64)
        n_items = self.dataset_.n_items
        incidence = sp.csr_array(
            (np.ones(len(lv["rejected_items"]), dtype=np.int64), (lv["rejected_items"], lv["rejected_rule"])),
            shape=(n_items, len(lv["rejected_size"])),
        )
        hits = sp.csr_array(sp.csr_array(context, dtype=np.int64) @ incidence).tocoo()  # type: ignore[call-overload]  # scipy-stubs: no csr_array(<sparse>, dtype=...) overload
        fired = hits.data == lv["rejected_size"][hits.col]
        return np.unique(hits.row[fired].astype(np.int64) * n_items + lv["rejected_cons"][hits.col[fired]])

    def _with_level_scores(self, context: sp.csr_array, scores: sp.csr_array) -> sp.csr_array:
        """The item rules' scores, and the level estimate where no item rule (nor a rejected one) points."""
        lv = self._level_
        assert lv is not None and self._level_members_ is not None
        n_items = scores.shape[1]
        fired = fired_level_rules(context, lv["codes"], lv["ptr"])
        keys, values = backoff_scores(fired, scores.shape, lv["consequent"], lv["value"], lv["count"].astype(np.float64), self._level_members_, self.aggregate)
        own = scores.tocoo()
        own_keys = own.row.astype(np.int64) * n_items + own.col
        new = ~np.isin(keys, own_keys) & ~np.isin(keys, self._rejected_keys(context))
        all_keys = np.concatenate([own_keys, keys[new]])
        order = np.argsort(all_keys, kind="stable")
        return _csr_from_keys(all_keys[order], np.concatenate([own.data, values[new]])[order], scores.shape)

    def _level_texts(self, batch: Batch, rows: np.ndarray, items: np.ndarray, texts: list[str | None]) -> list[str | None]:
        """The reasons of the backed-off items: the strongest level rule that fired for them."""
        lv = self._level_
        assert lv is not None
        f_row, f_rule = fired_level_rules(batch.context, lv["codes"], lv["ptr"])
        out = list(texts)
        for j, (row, item) in enumerate(zip(rows.tolist(), items.tolist(), strict=True)):
            if out[j] is not None:
                continue
            cand = f_rule[(f_row == row) & (lv["consequent"][f_rule] == lv["codes"][item])]
            if len(cand):
                best = cand[np.lexsort((cand, -lv["count"][cand], -lv["value"][cand]))[0]]
                out[j] = self._level_text(int(best))
        return out

    def _level_text(self, rule: int) -> str:
        """``"bought with adult bike: helmet in 69% of adult bike baskets (387 of 562)"``."""
        lv, names = self._level_, self.level_values_
        assert lv is not None and names is not None
        ante, cons = level_label(names[int(lv["antecedent"][rule])]), level_label(names[int(lv["consequent"][rule])])
        cab, ca = int(lv["count"][rule]), int(lv["antecedent_count"][rule])
        verb = "bought" if self.dataset_.only_purchases else "chosen"
        text = f"{verb} with {ante}: {cons} in {100 * cab / ca:.0f}% of {ante} baskets ({cab} of {ca})"
        if self.metric == "lift":
            text += f", {float(lv['value'][rule]):.1f}x more often than on average"
        return text

    def _level_bundle(self, anchor: int, query: Query, allowed: np.ndarray, dataset: Dataset | None) -> Recommendations:
        """One product per value associated with the anchor's, strongest rule first (see bundle)."""
        lv = self._level_
        assert lv is not None
        codes, own = lv["codes"], int(lv["codes"][anchor])
        rules = np.arange(lv["ptr"][own], lv["ptr"][own + 1])
        rules = rules[np.lexsort((lv["consequent"][rules], -lv["count"][rules], -lv["value"][rules]))]
        allowed = allowed & (codes != own)
        one = sp.csr_array((np.ones(1, dtype=np.int64), (np.zeros(1, dtype=np.int64), np.array([anchor]))), shape=(1, len(codes)))
        allowed[self._rejected_keys(one)] = False
        cooc = self.cooccurrence_
        together = cooc[[anchor]].toarray().ravel() + cooc[:, [anchor]].toarray().ravel()
        tiers = lv["tiers"] if dataset is None else price_tiers(dataset.catalog, self.price_column, codes, f"{_OWNER}.bundle")
        same_tier = (tiers == tiers[anchor]) & (tiers[anchor] >= 0)
        recs: list[Recommendation] = []
        for rule in rules.tolist():
            cands = np.flatnonzero(allowed & (codes == lv["consequent"][rule]))
            if not len(cands):
                continue
            j, how = pick_in_level(cands, together[cands], self.item_counts_[cands], same_tier[cands], self.min_count_)
            reason = f"{self._level_text(rule)}; {self._pick_text(how, anchor, j, int(together[j]))}"
            recs.append(Recommendation(rank=len(recs) + 1, item_id=self.dataset_.item_ids.id(j), score=float(lv["value"][rule]), reason=reason))
            if len(recs) == query.k:
                break
        return Recommendations(items=tuple(recs), query=query)

    def _pick_text(self, how: str, anchor: int, item: int, together: int) -> str:
        """Why this product of its value: bought with the anchor, or a best seller."""
        lv, names = self._level_, self.level_values_
        assert lv is not None and names is not None
        value = level_label(names[int(lv["codes"][item])])
        if how == "together":
            verb = "bought" if self.dataset_.only_purchases else "chosen"
            return f"this one {verb} with {self._item_label(anchor)} in {together} of its {int(self.item_counts_[anchor])} baskets"
        best = "best-selling" if self.dataset_.only_purchases else "most chosen"
        return f"the {best} {value} in the same price range" if how == "tier" else f"the {best} {value}"


# -- mining (module-level so tests and benchmarks can run it on a raw basket matrix) ---------
def _empty_rules() -> dict[str, np.ndarray]:
    z = np.empty(0, dtype=np.int64)
    return {
        "antecedent": z, "antecedent_ptr": np.zeros(1, np.int64), "consequent": z, "consequent_ptr": np.zeros(1, np.int64),
        "count": z, "antecedent_count": z, "consequent_count": z,
    }  # fmt: skip


def mine_rules(
    baskets: sp.csr_array,
    *,
    min_support: float | int,
    min_confidence: float,
    min_lift: float | None,
    max_len: int | None,
) -> dict[str, Any]:
    """Mine rules from a baskets x items 0/1 matrix; every count exact, every threshold exact.

    Returns the sufficient statistics (``n_baskets``, ``item_counts``, ``cooccurrence``,
    ``min_count``) and ``rules``: flat int64 arrays (antecedent / consequent item indices with
    CSR-style pointers, ``count``, ``antecedent_count``, ``consequent_count``) sorted by
    confidence then count (descending), then by antecedent length and the items.
    """
    n, m = baskets.shape
    b = _binary(baskets)  # int32 products are twice as fast as int64 and cannot overflow below 2**31 baskets
    item_counts = np.bincount(b.indices, minlength=m).astype(np.int64)
    min_count = min_count_for(min_support, n)
    cooc = _frequent_cooccurrence(b, item_counts >= min_count)
    if max_len == 2:
        rules = _pair_rules(cooc, item_counts, min_count)
    else:
        rules = _long_rules(b, cooc, min_count, max_len)
    rules = _filter_and_sort(rules, n, min_confidence, min_lift)
    return {"n_baskets": int(n), "item_counts": item_counts, "cooccurrence": cooc, "min_count": min_count, "rules": rules}


def _binary(baskets: sp.csr_array) -> sp.csr_array:
    b = sp.csr_array(baskets, dtype=np.int32 if baskets.shape[0] < 2**31 - 1 else np.int64)  # type: ignore[call-overload]  # scipy-stubs: no csr_array(<sparse>, dtype=...) overload
    b.sum_duplicates()
    b.data[:] = 1
    return b


def _moved_baskets(ds: Dataset, customers: np.ndarray, kept: Any) -> sp.csr_array:
    """The mined baskets (``kept``: max_basket_size) of ``customers`` in ``ds``, 0/1."""
    bi = sp.csr_array(ds.basket_items)
    rows = bi[np.flatnonzero(np.isin(ds.basket_customer_idx, customers))]
    return _binary(sp.csr_array(rows[np.flatnonzero(kept(rows))]))


def _reindexed_upper(m: sp.csr_array, item_map: np.ndarray, n_items: int) -> sp.csr_array:
    """An upper-triangle pair table over another (increasing) item numbering."""
    c = m.tocoo()
    keep = (item_map[c.row] >= 0) & (item_map[c.col] >= 0)
    out = sp.csr_array((c.data[keep].astype(np.int64), (item_map[c.row[keep]], item_map[c.col[keep]])), shape=(n_items, n_items))
    out.sum_duplicates()
    return out


def _pairs_where(m: sp.csr_array, keep_pair: Any) -> sp.csr_array:
    """The entries of an upper-triangle pair table for which ``keep_pair(rows, cols)`` holds
    (and that are not 0), int64, indices sorted."""
    c = m.tocoo()
    keep = keep_pair(c.row, c.col) & (c.data != 0)
    out = sp.csr_array((c.data[keep].astype(np.int64), (c.row[keep], c.col[keep])), shape=m.shape)
    out.sum_duplicates()
    out.sort_indices()
    return out


def _updated_pairs(previous: AssociationRules, change: DataChange, kept: Any, mined: sp.csr_array) -> dict[str, Any]:
    """The pair-mining counts of ``change.after`` (whose mined baskets are ``mined``) from
    ``previous``'s: the moved customers' old baskets out, their new ones in. Pairs of an item
    that becomes frequent were never counted: they are counted over the baskets holding it."""
    before, after, imap = change.before, change.after, change.item_map
    old_customers = change.customers if change.kind == "forget" else change.old_customers
    out_b = _moved_baskets(before, old_customers, kept)
    in_b = _moved_baskets(after, change.customers, kept) if change.kind == "add" else _binary(sp.csr_array((0, after.n_items)))
    n = previous.n_baskets_ - out_b.shape[0] + in_b.shape[0]
    counts = np.zeros(after.n_items, dtype=np.int64)
    old = previous.item_counts_ - np.bincount(out_b.indices, minlength=before.n_items)
    counts[imap[imap >= 0]] = old[imap >= 0]
    counts += np.bincount(in_b.indices, minlength=after.n_items)
    min_count = min_count_for(previous.min_support, n)
    frequent = counts >= min_count
    was_before = previous.item_counts_ >= previous.min_count_
    was = np.zeros(after.n_items, dtype=bool)
    was[imap[imap >= 0]] = was_before[imap >= 0]
    counted = frequent & was  # both items' pairs are in the previous table
    pairs = _reindexed_upper(previous.cooccurrence_ - _frequent_cooccurrence(out_b, was_before), imap, after.n_items)
    cooc = _pairs_where(sp.csr_array(pairs + _frequent_cooccurrence(in_b, counted)), lambda r, c: counted[r] & counted[c])
    newly = frequent & ~was
    if newly.any():
        b = _binary(mined)
        holds = np.bincount(entry_rows(b.indptr)[newly[b.indices]], minlength=b.shape[0]) > 0
        fresh = _frequent_cooccurrence(sp.csr_array(b[np.flatnonzero(holds)]), frequent)
        cooc = _pairs_where(sp.csr_array(cooc + _pairs_where(fresh, lambda r, c: newly[r] | newly[c])), lambda r, c: frequent[r] & frequent[c])
    return {"n_baskets": int(n), "item_counts": counts, "cooccurrence": cooc, "min_count": min_count}


def _frequent_cooccurrence(b: sp.csr_array, frequent: np.ndarray) -> sp.csr_array:
    """Co-occurrence counts (upper triangle, item_idx coordinates) of the pairs of frequent items.

    A pair can only reach ``min_count`` if both its items do (support is anti-monotone), so the
    others are never counted: the product shrinks to the frequent columns.
    """
    m = b.shape[1]
    keep = frequent[b.indices]
    new_index = np.cumsum(frequent) - 1
    rows_kept = np.bincount(entry_rows(b.indptr)[keep], minlength=b.shape[0])
    indptr = np.concatenate([[0], np.cumsum(rows_kept)])
    small = sp.csr_array((b.data[keep], new_index[b.indices[keep]], indptr), shape=(b.shape[0], int(frequent.sum())))
    upper = _upper_triangle(sp.csr_array(sp.csr_array(small.T) @ small))
    # back to item_idx coordinates (the map is increasing, so rows stay sorted)
    old_index = np.flatnonzero(frequent)
    row_len = np.zeros(m, dtype=np.int64)
    row_len[old_index] = np.diff(upper.indptr)
    indptr = np.concatenate([[0], np.cumsum(row_len)]).astype(np.int64)
    return sp.csr_array((upper.data, old_index[upper.indices].astype(np.int64), indptr), shape=(m, m))


def _upper_triangle(full: sp.csr_array) -> sp.csr_array:
    """The strictly upper triangle (i < j), int64, without scipy.triu's COO round trip."""
    full.sum_duplicates()
    rows = entry_rows(full.indptr)
    keep = (full.indices > rows) & (full.data != 0)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=full.shape[0]))]).astype(np.int64)
    return sp.csr_array((full.data[keep].astype(np.int64), full.indices[keep], indptr), shape=full.shape)


def _pair_rules(cooc: sp.csr_array, item_counts: np.ndarray, min_count: int) -> dict[str, np.ndarray]:
    coo = cooc.tocoo()
    keep = coo.data >= min_count
    i, j, c = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64), coo.data[keep].astype(np.int64)
    ante = np.concatenate([i, j])
    cons = np.concatenate([j, i])
    ptr = np.arange(len(ante) + 1, dtype=np.int64)
    return {
        "antecedent": ante, "antecedent_ptr": ptr, "consequent": cons, "consequent_ptr": ptr.copy(),
        "count": np.concatenate([c, c]), "antecedent_count": item_counts[ante], "consequent_count": item_counts[cons],
    }  # fmt: skip


def _long_rules(b: sp.csr_array, cooc: sp.csr_array, min_count: int, max_len: int | None) -> dict[str, np.ndarray]:
    """Every rule A -> C of every frequent itemset of 2 to ``max_len`` items, from recokit's exact
    level-wise counts (:func:`recokit.data.itemsets.frequent_itemsets`; the pair level is
    ``cooc``). The rules of an itemset of L items are its 2**L - 2 splits, taken per (L, split)
    for all itemsets of that size at once."""
    levels = frequent_itemsets(b, min_count=min_count, max_len=max_len, pairs=cooc)
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for lv in levels[1:]:
        size = lv.items.shape[1]
        for mask in range(1, 2**size - 1):
            in_a = np.array([(mask >> k) & 1 == 1 for k in range(size)])
            a, c = lv.items[:, in_a], lv.items[:, ~in_a]
            a_rows, c_rows = itemset_rows(levels, a), itemset_rows(levels, c)
            assert (a_rows >= 0).all() and (c_rows >= 0).all()  # every subset of a frequent itemset is frequent
            blocks.append((a, c, lv.counts, levels[a.shape[1] - 1].counts[a_rows], levels[c.shape[1] - 1].counts[c_rows]))
    if not blocks:
        return _empty_rules()

    def flat(side: int) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.concatenate([np.full(len(blk[side]), blk[side].shape[1], dtype=np.int64) for blk in blocks])
        return np.concatenate([blk[side].ravel() for blk in blocks]), np.concatenate([[0], np.cumsum(lengths)])

    (ante, a_ptr), (cons, c_ptr) = flat(0), flat(1)
    cat = lambda k: np.concatenate([blk[k] for blk in blocks]).astype(np.int64)  # noqa: E731
    return {
        "antecedent": ante.astype(np.int64), "antecedent_ptr": a_ptr.astype(np.int64),
        "consequent": cons.astype(np.int64), "consequent_ptr": c_ptr.astype(np.int64),
        "count": cat(2), "antecedent_count": cat(3), "consequent_count": cat(4),
    }  # fmt: skip


def _take(rules: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    out = {k: rules[k][idx] for k in ("count", "antecedent_count", "consequent_count")}
    for side in ("antecedent", "consequent"):
        ptr = rules[f"{side}_ptr"]
        lengths = np.diff(ptr)[idx]
        starts = ptr[:-1][idx]
        flat_idx = ragged_ranges(starts, starts + lengths)
        out[side] = rules[side][flat_idx.astype(np.int64)] if len(flat_idx) else np.empty(0, np.int64)
        out[f"{side}_ptr"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return out


def _filter_and_sort(rules: dict[str, np.ndarray], n: int, min_confidence: float, min_lift: float | None) -> dict[str, np.ndarray]:
    cab, ca, cc = rules["count"], rules["antecedent_count"], rules["consequent_count"]
    keep = _ratio_at_least(cab, ca, _fraction(min_confidence))
    if min_lift is not None:
        # lift = (cab / ca) / (cc / n) = cab * n / (ca * cc); products done in Python ints on near-ties
        keep &= _lift_at_least(cab, ca, cc, n, _fraction(min_lift))
    idx = np.flatnonzero(keep)
    conf = cab[idx] / ca[idx]
    # ties: the shorter antecedent, then the antecedent's items, then the consequent's (item_idx
    # order, a shorter side first): every rule has its own place, so the order is total
    a_len = np.diff(rules["antecedent_ptr"])[idx]
    a_items, c_items = _padded(rules, "antecedent", idx), _padded(rules, "consequent", idx)
    order = np.lexsort((*c_items[::-1], *a_items[::-1], a_len, -cab[idx], -conf))
    return _take(rules, idx[order])


def _padded(rules: dict[str, np.ndarray], side: str, idx: np.ndarray) -> list[np.ndarray]:
    """The items of one side of the rules ``idx``, as columns (position 0 first), -1 past a
    side's end."""
    ptr = rules[f"{side}_ptr"]
    starts, lengths = ptr[:-1][idx], np.diff(ptr)[idx]
    width = int(lengths.max(initial=1))
    return [np.where(lengths > k, rules[side][np.minimum(starts + k, max(len(rules[side]) - 1, 0))] if len(rules[side]) else -1, -1) for k in range(width)]


def _lift_at_least(cab: np.ndarray, ca: np.ndarray, cc: np.ndarray, n: int, threshold: Fraction) -> np.ndarray:
    p, q = threshold.numerator, threshold.denominator
    lhs = cab.astype(np.float64) * n * q
    rhs = ca.astype(np.float64) * cc.astype(np.float64) * p
    out = lhs >= rhs
    close = np.abs(lhs - rhs) <= 1e-9 * np.maximum(np.abs(lhs), np.abs(rhs))
    for i in np.flatnonzero(close):
        out[i] = int(cab[i]) * n * q >= int(ca[i]) * int(cc[i]) * p
    return out


def rule_metrics(count: np.ndarray, antecedent_count: np.ndarray, consequent_count: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """mlxtend 0.25's rule metrics from integer counts (no null values)."""
    n_f = float(n) if n else 1.0
    s_ac = count / n_f
    s_a = antecedent_count / n_f
    s_c = consequent_count / n_f
    with np.errstate(divide="ignore", invalid="ignore"):
        conf = count / np.where(antecedent_count > 0, antecedent_count, 1)
        lift = conf / s_c
        conviction = np.where(count >= antecedent_count, np.inf, (1.0 - s_c) / (1.0 - conf))
    return {
        "antecedent_support": s_a.astype(np.float64),
        "consequent_support": s_c.astype(np.float64),
        "support": s_ac.astype(np.float64),
        "confidence": conf.astype(np.float64),
        "lift": lift.astype(np.float64),
        "leverage": (s_ac - s_a * s_c).astype(np.float64),
        "conviction": conviction.astype(np.float64),
    }


# -- review files ---------------------------------------------------------------------------
def _rule_keys(rules: dict[str, np.ndarray]) -> list[tuple[frozenset[int], frozenset[int]]]:
    ap, cp = rules["antecedent_ptr"].tolist(), rules["consequent_ptr"].tolist()
    a, c = rules["antecedent"].tolist(), rules["consequent"].tolist()
    return [(frozenset(a[ap[r] : ap[r + 1]]), frozenset(c[cp[r] : cp[r + 1]])) for r in range(len(ap) - 1)]


def _ragged(values: pl.Series, flat: np.ndarray, ptr: np.ndarray) -> pl.Series:
    n_rows = len(ptr) - 1
    owner = np.repeat(np.arange(n_rows), np.diff(ptr))
    frame = pl.DataFrame({"r": owner, "v": values.gather(flat)})
    lists = frame.group_by("r", maintain_order=True).agg(pl.col("v"))
    full = pl.DataFrame({"r": np.arange(n_rows)}).join(lists, on="r", how="left", maintain_order="left")
    return full["v"].alias(values.name)


def _load_review(source: Any, dataset: Dataset, which: str) -> list[tuple[frozenset[int], frozenset[int]]]:
    """Rules from a CSV/TOML file or a list of pairs, as (antecedent, consequent) index sets.

    An item id the dataset does not know is an error: a typo in a rejection list must not let
    the rule it meant to block through.
    """
    where = f"{_OWNER}({which}=...)"
    pairs: list[tuple[Any, Any]]
    from_file = isinstance(source, (str, Path))
    if from_file:
        path = Path(source)
        if not path.exists():
            raise DataError(f"{where}: file not found: {str(path)!r}.")
        if path.suffix.lower() == ".toml":
            try:
                doc = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise DataError(f"{where}: {path} is not valid TOML: {exc or type(exc).__name__}.", hint="save it as UTF-8 TOML text.") from None
            entries = doc.get("rule", [])
            if not isinstance(entries, list) or any(not isinstance(e, dict) for e in entries):
                raise DataError(f"{where}: {path} must hold [[rule]] tables.", hint='write [[rule]] antecedent = "B001" consequent = "H003".')
            pairs = []
            for n_rule, e in enumerate(entries, start=1):
                if "antecedent" not in e or "consequent" not in e:
                    raise DataError(f"{where}: rule #{n_rule} in {path} needs both 'antecedent' and 'consequent'.")
                pairs.append((e["antecedent"], e["consequent"]))
        elif path.suffix.lower() in (".csv", ".txt"):
            try:
                frame = pl.read_csv(path, infer_schema=False)
            except READ_ERRORS as exc:
                raise read_error(where, path, exc) from None
            missing = [c for c in ("antecedent", "consequent") if c not in frame.columns]
            if missing:
                raise DataError(
                    f"{where}: {path} lacks the column(s) {missing}; it has {frame.columns}.", hint="use the columns of export_rules()."
                )
            pairs = [(a.split(SEP), c.split(SEP)) for a, c in frame.select("antecedent", "consequent").iter_rows() if a and c]
        else:
            raise DataError(f"{where}: unsupported file type {path.suffix!r}.", hint="give a .csv or .toml file, or a list of pairs.")
    elif isinstance(source, Iterable):
        pairs = []
        for pair in source:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ConfigError(
                    f"{where}: each rule must be an (antecedent, consequent) pair. Got {pair!r}.", hint="e.g. [('B001', 'H003')]."
                )
            pairs.append((pair[0], pair[1]))
    else:
        raise ConfigError(f"The '{which}' parameter of {_OWNER} must be a path or a list of pairs. Got {source!r} instead.")

    ids = dataset.item_ids
    as_int = dataset.item_ids.dtype.is_integer()
    unknown: list[Any] = []

    def side(value: Any) -> frozenset[int]:
        values = [value] if isinstance(value, (str, int, np.integer)) else list(value)
        out = set()
        for v in values:
            key: Any = v.strip() if isinstance(v, str) else v
            if as_int and isinstance(key, str):
                try:
                    key = int(key)
                except ValueError:
                    pass
            idx = ids.get(key)
            if idx is None:
                unknown.append(v)
            else:
                out.add(idx)
        return frozenset(out)

    keys = [(side(a), side(c)) for a, c in pairs]
    if unknown:
        raise DataError(
            f"{where}: {len(unknown)} item id(s) unknown to the dataset, e.g. {unknown[:5]}.", hint="fix the typo or delete the line: an unknown id could let a rule you meant to block through."
        )
    return keys
