"""Train/test splits that never leak the future into training.

Every split is built with :meth:`recokit.Dataset.filter`, so ``train`` and ``test`` share the
input's id maps (a model fitted on ``train`` scores the same catalogue the test refers to), and
every input row ends up in exactly one of ``train``, ``test`` or ``dropped`` (the rows an explicit
policy removed, kept so that nothing disappears silently).

Four protocols:

* :func:`temporal_split` -- one global cut-off time: everything before it trains, everything at or
  after it tests (the protocol closest to going live);
* :func:`leave_last_basket_out` -- each customer's last basket is their test;
* :func:`random_holdout` -- a seeded random share of each customer's distinct items is held out
  (the classic MovieLens protocol, not leak-free in time: use it only for data without a clock);
* :func:`basket_completion_split` -- anonymous baskets: hide one item of each test basket and ask
  for it from the rest (the cart screen).

The result, a :class:`Split`, carries the evaluation *cases* (who asks, with which context items,
and which items count as relevant) and a :class:`SplitReport` that counts what the protocol did:
cold customers and items, repeat purchases dropped or kept, customers with nothing left to test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from recokit._errors import ConfigError, DataError
from recokit.data import Dataset

__all__ = [
    "Split",
    "SplitReport",
    "basket_completion_split",
    "leave_last_basket_out",
    "random_holdout",
    "temporal_split",
]

Repeat = Literal["drop", "keep"]


@dataclass(frozen=True)
class SplitReport:
    """What a split did, in counts (nothing is dropped without being counted here).

    Attributes
    ----------
    protocol : str
        ``"temporal"``, ``"last_basket"``, ``"random"`` or ``"basket_completion"``.
    repeat : str
        ``"drop"`` (test items the customer already had in training are removed: "new items"
        evaluation) or ``"keep"`` ("repeat purchase" evaluation).
    n_train, n_test, n_dropped : int
        Interaction rows in train, in test, and removed by the repeat policy.
    n_cases : int
        Evaluation cases (one per test customer, or per test basket for basket completion).
    n_test_customers_empty : int
        Test customers whose every test item was dropped by the repeat policy (no case).
    n_cold_customers : int
        Cases whose customer has no interaction in training (still evaluated).
    n_cold_items : int
        Distinct relevant items never seen in training (still counted as relevant).
    n_relevant_cold : int
        Relevant (case, item) pairs whose item was never seen in training.
    n_not_evaluated : int
        Customers (or baskets) the protocol could not make a case of (e.g. a single basket).
    cutoff : datetime or None
        The global cut-off time of a temporal split.
    """

    protocol: str
    repeat: str
    n_train: int
    n_test: int
    n_dropped: int
    n_cases: int
    n_test_customers_empty: int
    n_cold_customers: int
    n_cold_items: int
    n_relevant_cold: int
    n_not_evaluated: int
    cutoff: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __str__(self) -> str:
        when = f", cut-off {self.cutoff:%Y-%m-%d %H:%M}" if self.cutoff is not None else ""
        return (
            f"{self.protocol} split{when} (repeat={self.repeat}): {self.n_train} train rows, {self.n_test} test rows, "
            f"{self.n_dropped} dropped by the repeat policy; {self.n_cases} cases "
            f"({self.n_cold_customers} with a customer unseen in training; {self.n_relevant_cold} relevant pairs on "
            f"{self.n_cold_items} items unseen in training); {self.n_test_customers_empty} test customers left with "
            f"nothing new; {self.n_not_evaluated} not evaluable by this protocol"
        )


@dataclass(frozen=True)
class Split:
    """A train/test split and its evaluation cases.

    Attributes
    ----------
    train : Dataset
        What models are fitted on (same id maps as the input).
    test : Dataset
        The held-out interactions after the repeat policy (same id maps).
    dropped : polars.DataFrame
        Rows removed by the repeat policy (``interactions`` columns); train ∪ test ∪ dropped is
        the input, row for row.
    cases : polars.DataFrame
        One row per evaluation case: ``case`` (int), ``customer_id`` (null for an anonymous
        basket), ``items`` (list of context item ids, empty for a customer case) and ``relevant``
        (list of distinct relevant item ids, never empty).
    exclude_purchased : bool
        Whether recommendations should exclude the customer's training items (True under
        ``repeat="drop"``: an item the customer has cannot be a hit, so it must not take a slot).
    report : SplitReport
    """

    train: Dataset
    test: Dataset
    dropped: pl.DataFrame
    cases: pl.DataFrame
    exclude_purchased: bool
    report: SplitReport
    now: dt.datetime | None = field(default=None)

    def __repr__(self) -> str:
        return f"Split({self.report})"


# -- helpers --------------------------------------------------------------------------------
def _check_repeat(repeat: str) -> None:
    if not isinstance(repeat, str) or repeat not in ("drop", "keep"):
        raise ConfigError(
            f"The 'repeat' parameter must be 'drop' or 'keep'. Got {repeat!r} instead.", hint="'drop' evaluates new items only (recommendations exclude what the customer bought); 'keep' evaluates repeat purchases too."
        )


def _check_fraction(value: float, name: str = "test_fraction") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"The '{name}' parameter must be a number strictly between 0 and 1. Got {value!r} instead.")


def _check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"The 'seed' parameter must be an int >= 0. Got {seed!r} instead.", hint="any fixed non-negative int, e.g. seed=0.")


def _check_dataset(ds: Any, fn: str) -> None:
    if not isinstance(ds, Dataset):
        raise ConfigError(f"{fn} expects a recokit.Dataset; got {type(ds).__name__}.", hint="wrap your table: Dataset(frame, ...).")
    if ds.n_interactions == 0:
        raise DataError(f"{fn}: the dataset has no interactions to split.")


def _require_training(train: Dataset, protocol: str, cutoff: dt.datetime | None) -> None:
    """A split whose training part is empty cannot evaluate anything: say so instead of fitting on nothing."""
    if train.n_interactions == 0:
        when = f" before the cut-off {cutoff:%Y-%m-%d %H:%M}" if cutoff is not None else ""
        raise DataError(
            f"{protocol} split: no interaction is left to train on{when}.", hint="the data's timestamps leave nothing earlier than the test part: use more history, a smaller "
                "test_fraction, or a non-temporal protocol."
        )


def _assemble(
    ds: Dataset,
    in_test: np.ndarray,
    repeat: Repeat,
    protocol: str,
    n_not_evaluated: int,
    cutoff: dt.datetime | None = None,
) -> Split:
    """Customer-case split: rows with ``in_test`` go to test, the rest to train; apply the policy."""
    inter = ds.interactions
    cust = inter["customer_idx"].to_numpy()
    item = inter["item_idx"].to_numpy()
    n_items = ds.n_items
    train_pairs = np.unique(cust[~in_test] * n_items + item[~in_test])
    pair = cust * n_items + item
    repeat_row = in_test & np.isin(pair, train_pairs)
    drop = repeat_row if repeat == "drop" else np.zeros_like(in_test)
    test_mask = in_test & ~drop
    train = ds.filter(~in_test)
    test = ds.filter(test_mask)
    dropped = inter.filter(pl.Series(drop))

    test_customers = np.unique(cust[in_test])
    case_customers = np.unique(cust[test_mask])
    rel = (
        test.interactions.select("customer_idx", "customer_id", "item_idx", "item_id")
        .unique(subset=["customer_idx", "item_idx"])
        .sort("customer_idx", "item_idx")
        .group_by("customer_idx", maintain_order=True)
        .agg(pl.col("customer_id").first(), pl.col("item_id").alias("relevant"), pl.col("item_idx"))
    )
    cases = rel.with_row_index("case").select(
        pl.col("case").cast(pl.Int64),
        "customer_id",
        pl.lit([], dtype=pl.List(ds.item_ids.dtype)).alias("items"),
        "relevant",
    )
    train_counts = np.bincount(train.interactions["customer_idx"].to_numpy(), minlength=ds.n_customers)
    item_seen = np.bincount(train.interactions["item_idx"].to_numpy(), minlength=n_items) > 0
    rel_items = test.interactions.unique(subset=["customer_idx", "item_idx"])["item_idx"].to_numpy()
    report = SplitReport(
        protocol=protocol,
        repeat=repeat,
        n_train=train.n_interactions,
        n_test=test.n_interactions,
        n_dropped=dropped.height,
        n_cases=cases.height,
        n_test_customers_empty=int(len(test_customers) - len(case_customers)),
        n_cold_customers=int((train_counts[case_customers] == 0).sum()),
        n_cold_items=int(len(np.unique(rel_items[~item_seen[rel_items]]))),
        n_relevant_cold=int((~item_seen[rel_items]).sum()),
        n_not_evaluated=n_not_evaluated,
        cutoff=cutoff,
    )
    return Split(
        train=train,
        test=test,
        dropped=dropped,
        cases=cases,
        exclude_purchased=repeat == "drop",
        report=report,
        now=cutoff,
    )


# -- protocols ------------------------------------------------------------------------------
def temporal_split(
    dataset: Dataset,
    *,
    cutoff: dt.datetime | dt.date | None = None,
    test_fraction: float = 0.2,
    repeat: Repeat = "drop",
) -> Split:
    """Everything before one global cut-off time trains; everything at or after it tests.

    Parameters
    ----------
    dataset : Dataset
        Must have timestamps.
    cutoff : datetime, optional
        The cut-off. Default: the time that leaves ``test_fraction`` of the interaction rows on or
        after it.
    test_fraction : float
        Share of rows to test on when ``cutoff`` is not given (default 0.2).
    repeat : {'drop', 'keep'}
        Test items the customer already had before the cut-off: dropped ("new items", default) or
        kept ("repeat purchases").

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> from recokit import Dataset
    >>> from recokit.evaluation import temporal_split
    >>> ds = Dataset(pl.DataFrame({
    ...     "customer_id": [1, 1, 2, 2, 1],
    ...     "item_id": ["a", "b", "a", "c", "c"],
    ...     "t": [dt.datetime(2024, 1, d) for d in (1, 2, 3, 4, 5)],
    ... }), time_col="t")
    >>> split = temporal_split(ds, cutoff=dt.datetime(2024, 1, 4))
    >>> split.train.n_interactions, split.test.n_interactions
    (3, 2)
    >>> split.cases["relevant"].to_list()
    [['c'], ['c']]
    """
    _check_dataset(dataset, "temporal_split")
    _check_repeat(repeat)
    if not dataset.has_time:
        raise DataError(
            "temporal_split needs timestamps; this dataset has none.", hint="build the Dataset with time_col=..., or use random_holdout / basket_completion_split."
        )
    times = dataset.interactions["timestamp"].to_numpy().astype("datetime64[us]")
    if cutoff is None:
        _check_fraction(test_fraction)
        ordered = np.sort(times)
        cut = ordered[min(len(ordered) - 1, int(np.floor(len(ordered) * (1 - test_fraction))))]
        cutoff_dt = cut.astype("datetime64[us]").astype(dt.datetime)
    else:
        if isinstance(cutoff, dt.date) and not isinstance(cutoff, dt.datetime):
            cutoff = dt.datetime.combine(cutoff, dt.time())
        if not isinstance(cutoff, dt.datetime):
            raise ConfigError(f"The 'cutoff' parameter must be a datetime or date. Got {type(cutoff).__name__} instead.")
        if cutoff.tzinfo is not None:
            cutoff = cutoff.astimezone(dt.UTC).replace(tzinfo=None)
        cutoff_dt = cutoff
        cut = np.datetime64(cutoff_dt, "us")
    in_test = times >= cut
    if not in_test.any() or in_test.all():
        raise DataError(
            f"temporal_split: the cut-off {cutoff_dt} leaves {'no' if not in_test.any() else 'every'} row for testing.", hint=f"choose a cut-off between {times.min()} and {times.max()}."
        )
    return _assemble(dataset, in_test, repeat, "temporal", 0, cutoff=cutoff_dt)


def leave_last_basket_out(dataset: Dataset, *, repeat: Repeat = "keep", min_baskets: int = 2) -> Split:
    """Each customer's last basket is their test; their earlier baskets (and everyone else's) train.

    Baskets are ordered by time when the data has timestamps (else by basket order), so the cut-off
    is per customer: nothing a customer did after their test basket's start reaches training for
    them. Other customers' later baskets do (the usual caveat of this protocol).

    Parameters
    ----------
    repeat : {'keep', 'drop'}
        Default ``'keep'``: grocery-like shops live on repeat purchases.
    min_baskets : int
        Customers with fewer baskets stay wholly in training (counted as ``n_not_evaluated``).

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.evaluation import leave_last_basket_out
    >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 1, 2], "item_id": ["a", "b", "c", "a"],
    ...                            "order": [10, 10, 11, 12]}), basket_col="order")
    >>> split = leave_last_basket_out(ds)
    >>> split.cases["relevant"].to_list(), split.report.n_not_evaluated
    ([['c']], 1)
    """
    _check_dataset(dataset, "leave_last_basket_out")
    _check_repeat(repeat)
    if isinstance(min_baskets, bool) or not isinstance(min_baskets, int) or min_baskets < 2:
        raise ConfigError(f"The 'min_baskets' parameter must be an int >= 2. Got {min_baskets!r} instead.")
    bc = dataset.basket_customer_idx
    n_baskets = np.bincount(bc, minlength=dataset.n_customers)
    # basket indices are sorted by (first time, key): the largest index is the last basket
    last = np.full(dataset.n_customers, -1, dtype=np.int64)
    np.maximum.at(last, bc, np.arange(len(bc), dtype=np.int64))
    eligible = n_baskets >= min_baskets
    inter = dataset.interactions
    b = inter["basket_idx"].to_numpy()
    c = inter["customer_idx"].to_numpy()
    in_test = eligible[c] & (b == last[c])
    n_not = int(((n_baskets > 0) & ~eligible).sum())
    return _assemble(dataset, in_test, repeat, "last_basket", n_not)


def random_holdout(
    dataset: Dataset,
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    repeat: Repeat = "drop",
) -> Split:
    """Hold out a seeded random share of each customer's distinct items.

    All rows of a held-out (customer, item) pair go to test together, so a test item is never in
    the customer's training history (``repeat`` then changes nothing but is accepted for symmetry).
    Each customer with ``n >= 2`` distinct items holds out ``max(1, round(test_fraction * n))``
    items, at most ``n - 1``; customers with one item stay in training (``n_not_evaluated``).

    This is the MovieLens "75/25 per user" protocol. It ignores time: a model may learn from what
    other customers did later. Prefer :func:`temporal_split` when the data has a clock.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.evaluation import random_holdout
    >>> ds = Dataset(pl.DataFrame({"customer_id": [1] * 4 + [2], "item_id": ["a", "b", "c", "d", "a"]}))
    >>> split = random_holdout(ds, test_fraction=0.5, seed=1)
    >>> len(split.cases["relevant"][0]), split.report.n_not_evaluated
    (2, 1)
    """
    _check_dataset(dataset, "random_holdout")
    _check_repeat(repeat)
    _check_fraction(test_fraction)
    _check_seed(seed)
    inter = dataset.interactions
    c = inter["customer_idx"].to_numpy()
    i = inter["item_idx"].to_numpy()
    pairs, inverse = np.unique(c * dataset.n_items + i, return_inverse=True)
    pc = pairs // dataset.n_items
    rng = np.random.default_rng(seed)
    key = rng.random(len(pairs))
    order = np.lexsort((key, pc))  # by customer, random within customer
    starts = np.searchsorted(pc[order], pc[order], side="left")
    rank_in_cust = np.arange(len(order)) - starts
    n_per = np.bincount(pc, minlength=dataset.n_customers)
    n_test = np.where(n_per >= 2, np.minimum(n_per - 1, np.maximum(1, np.round(test_fraction * n_per))), 0)
    pair_test = np.zeros(len(pairs), dtype=bool)
    pair_test[order] = rank_in_cust < n_test[pc[order]]
    in_test = pair_test[inverse]
    n_not = int(((n_per > 0) & (n_per < 2)).sum())
    return _assemble(dataset, in_test, repeat, "random", n_not)


def basket_completion_split(
    dataset: Dataset,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    min_size: int = 2,
    temporal: bool | None = None,
    with_customer: bool = False,
) -> Split:
    """Hide one item of each test basket; the model must find it from the rest of the basket.

    Test baskets are the last ``test_fraction`` of baskets in time (``temporal=True``, the default
    when the data has timestamps) or a seeded random share (``temporal=False``). Whole test
    baskets leave training, so no hidden item is ever seen with its basket; with ``temporal``, rows
    of earlier baskets dated at or after the first test basket are dropped too (``dropped``, counted
    in the report), so training ends strictly before the cut-off. Baskets with fewer
    than ``min_size`` distinct items cannot be a case (they have no "rest"): they stay out of
    training too when chosen for test, and are counted as ``n_not_evaluated``.

    Each case asks ``Query(items=rest)`` (anonymous: ``customer_id`` null unless
    ``with_customer=True``) and the hidden item is its only relevant item.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset
    >>> from recokit.evaluation import basket_completion_split
    >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 1, 2, 2, 3], "item_id": ["a", "b", "a", "b", "c"],
    ...                            "order": [1, 1, 2, 2, 3]}), basket_col="order")
    >>> split = basket_completion_split(ds, test_fraction=0.5, seed=0, temporal=False)
    >>> row = split.cases.row(0, named=True)
    >>> sorted(row["items"] + row["relevant"])
    ['a', 'b']
    """
    _check_dataset(dataset, "basket_completion_split")
    temporal = _check_basket_completion_args(dataset, test_fraction, seed, min_size, temporal, with_customer)
    rng = np.random.default_rng(seed)
    test_baskets, cutoff, late = _choose_test_baskets(dataset, test_fraction, temporal, rng)
    in_test = np.zeros(dataset.n_baskets, dtype=bool)
    in_test[test_baskets] = True
    in_test = in_test[dataset.interactions["basket_idx"].to_numpy()]
    drop = ~in_test & late
    train = dataset.filter(~in_test & ~drop)
    _require_training(train, "basket_completion", cutoff)
    test = dataset.filter(in_test)
    dropped = dataset.interactions.filter(pl.Series(drop))
    sizes = np.diff(dataset.basket_items.indptr)
    usable = test_baskets[sizes[test_baskets] >= min_size]
    cases, hidden_idx = _hide_one_item(dataset, usable, rng, with_customer)
    item_seen = np.bincount(train.interactions["item_idx"].to_numpy(), minlength=dataset.n_items) > 0
    if with_customer:
        train_counts = np.bincount(train.interactions["customer_idx"].to_numpy(), minlength=dataset.n_customers)
        n_cold_c = int((train_counts[dataset.basket_customer_idx[usable]] == 0).sum())
    else:
        n_cold_c = 0
    report = SplitReport(
        protocol="basket_completion",
        repeat="keep",
        n_train=train.n_interactions,
        n_test=test.n_interactions,
        n_dropped=dropped.height,
        n_cases=cases.height,
        n_test_customers_empty=0,
        n_cold_customers=n_cold_c,
        n_cold_items=int(len(np.unique(hidden_idx[~item_seen[hidden_idx]]))),
        n_relevant_cold=int((~item_seen[hidden_idx]).sum()),
        n_not_evaluated=int(len(test_baskets) - len(usable)),
        cutoff=cutoff,
    )
    return Split(train=train, test=test, dropped=dropped, cases=cases, exclude_purchased=False, report=report, now=cutoff)


def _check_basket_completion_args(
    dataset: Dataset, test_fraction: float, seed: Any, min_size: Any, temporal: Any, with_customer: Any
) -> bool:
    """Validate basket_completion_split's parameters; returns the effective ``temporal``."""
    _check_fraction(test_fraction)
    _check_seed(seed)
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 2:
        raise ConfigError(f"The 'min_size' parameter must be an int >= 2. Got {min_size!r} instead.")
    for name, value in (("temporal", temporal), ("with_customer", with_customer)):
        if not isinstance(value, (bool, np.bool_)) and not (name == "temporal" and value is None):
            raise ConfigError(f"The '{name}' parameter of basket_completion_split must be True or False. Got {value!r} instead.")
    if temporal is None:
        temporal = dataset.has_time
    if temporal and not dataset.has_time:
        raise DataError("basket_completion_split(temporal=True) needs timestamps.", hint="pass temporal=False for a seeded random choice.")
    nb = dataset.n_baskets
    if nb < 2:
        raise DataError(f"basket_completion_split: the dataset has {nb} basket(s); at least 2 are needed.", hint="give more data.")
    return bool(temporal)


def _choose_test_baskets(
    dataset: Dataset, test_fraction: float, temporal: bool, rng: np.random.Generator
) -> tuple[np.ndarray, dt.datetime | None, np.ndarray]:
    """The sorted test basket indices, the cut-off (temporal only) and the rows dated at or after it."""
    nb = dataset.n_baskets
    n_test = min(nb - 1, max(1, int(round(test_fraction * nb))))
    if not temporal:
        return np.sort(rng.choice(nb, size=n_test, replace=False)), None, np.zeros(dataset.n_interactions, dtype=bool)
    # basket indices are in time order: the last n_test baskets. A basket is dated by its first
    # row; rows of earlier baskets at or after the cut-off (a basket straddling it) must not
    # train, so they go to `dropped` and are counted.
    basket_time = dataset.basket_time
    if basket_time is None:  # has_time was checked: a Dataset with timestamps dates every basket
        raise DataError("basket_completion_split(temporal=True): the dataset has timestamps but no basket times.")
    cut = basket_time[nb - n_test].astype("datetime64[us]")
    late = dataset.interactions["timestamp"].to_numpy().astype("datetime64[us]") >= cut
    return np.arange(nb - n_test, nb), cut.astype(dt.datetime), late


def _hide_one_item(dataset: Dataset, usable: np.ndarray, rng: np.random.Generator, with_customer: bool) -> tuple[pl.DataFrame, np.ndarray]:
    """One case per usable basket: a seeded random hidden item is relevant, the rest is the context."""
    bi = dataset.basket_items
    ids = dataset.item_ids
    cust_ids = dataset.customer_ids
    rows_items: list[list[Any]] = []
    rows_rel: list[list[Any]] = []
    rows_cust: list[Any] = []
    hidden_idx = np.empty(len(usable), dtype=np.int64)
    for n, basket in enumerate(usable.tolist()):
        members = bi.indices[bi.indptr[basket] : bi.indptr[basket + 1]]
        h = int(members[rng.integers(len(members))])
        hidden_idx[n] = h
        rows_items.append(ids.ids(members[members != h]))
        rows_rel.append([ids.id(h)])
        rows_cust.append(cust_ids.id(dataset.basket_customer_idx[basket]) if with_customer else None)
    cases = pl.DataFrame(
        {
            "case": np.arange(len(usable), dtype=np.int64),
            "customer_id": pl.Series(rows_cust, dtype=cust_ids.dtype),
            "items": pl.Series(rows_items, dtype=pl.List(ids.dtype)),
            "relevant": pl.Series(rows_rel, dtype=pl.List(ids.dtype)),
        }
    )
    return cases, hidden_idx
