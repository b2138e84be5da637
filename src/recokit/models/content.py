"""ContentBased: products like the ones a customer bought, from catalogue attributes alone.

Each catalogue item becomes a sparse vector built from its attributes:

* categorical columns (category, sport, brand, age group, booleans) -- one-hot;
* the price column -- log-price bands (two neighbouring bands, linearly interpolated, so prices
  within a factor ``price_band_ratio`` of each other overlap and "similar price" means similar
  *relative* price);
* other numeric columns -- standardised, then banded the same way (bands of half a standard deviation);
* text columns (description, tags) -- TF-IDF through scikit-learn.

Each column's block is scaled to unit length, then multiplied by the square root of the column's
weight, and the whole vector is L2-normalised: the cosine of two items is the *weighted mean* of
their per-column similarities. Scores are ``profile @ X.T``: nothing item x item is ever dense.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
import polars as pl
import scipy.sparse as sp

from recokit._errors import ConfigError, DataError, DataWarning
from recokit.core import (
    Batch,
    Query,
    Recommendation,
    Recommendations,
    Recommender,
    ScoreBlock,
    top_k,
)
from recokit.data import (
    DAY_US,
    DataChange,
    Dataset,
    entry_rows,
    item_label,
    last_purchase,
    ragged_ranges,
)
from recokit.params import Custom, InstanceOf, Interval, Optional, param

__all__ = ["ColumnBlock", "ContentBased"]

#: (pair, source feature) products computed at once when explaining (bounds memory)
_PAIR_CHUNK = 1 << 20
#: columns never used as attributes by the automatic detection (availability, not likeness)
_AUTO_SKIP = {"item_id", "stock", "name", "title", "sku", "ean", "url", "image"}
_TEXT_NAMES = {"description", "tags", "keywords", "text"}
#: default mapping of declared customer data to catalogue columns (used where both sides exist)
DEFAULT_DECLARED_MAPPING: dict[str, str] = {
    "declared_sports": "sport",
    "declared_sport": "sport",
    "sports": "sport",
    "level": "level",
}


@dataclass(frozen=True)
class ColumnBlock:
    """Where one catalogue column's features sit in the item vectors (columns ``start:stop``).

    Part of a fitted ContentBased's state; saved files name it by its class name.
    """

    column: str
    kind: str  # 'categorical' | 'price' | 'numeric' | 'text'
    start: int
    stop: int
    weight: float


def _check_weight(owner: str, param: str, column: str, w: Any) -> float:
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
        raise ConfigError(f"The weight of column {column!r} in the '{param}' parameter of {owner} must be a number >= 0. Got {w!r} instead.")
    return float(w)


def _as_weights(value: Any, param: str) -> dict[str, float] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise ConfigError(f"The '{param}' parameter of ContentBased must be a list of column names or a dict {{column: weight}}. Got the string {value!r}.", hint=f"write {param}=[{value!r}].")
    if isinstance(value, Mapping):
        return {str(c): _check_weight("ContentBased", param, str(c), w) for c, w in value.items()}
    try:
        return {str(c): 1.0 for c in value}
    except TypeError:
        raise ConfigError(f"The '{param}' parameter of ContentBased must be a list of column names or a dict {{column: weight}}. Got {type(value).__name__}.") from None


def _weights_check(name: str) -> Custom:
    """``columns`` / ``text_columns``: None, a list of names or {name: weight >= 0}."""

    def valid(value: Any) -> bool:
        _as_weights(value, name)  # raises the specific ConfigError
        return True

    return Custom(valid, "a list of column names or a dict {column: weight >= 0}, or None")


def _unit_rows(m: sp.csr_array) -> sp.csr_array:
    """Rows scaled to unit L2 length (all-zero rows stay zero)."""
    m = sp.csr_array(m, dtype=np.float64)  # type: ignore[call-overload]  # scipy-stubs: no csr_array(<sparse>, dtype=...) overload
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_array(sp.diags_array(scale) @ m)


def _banded(pos: np.ndarray) -> tuple[sp.csr_array, int, int]:
    """Each finite position ``x`` -> weight ``1-f`` on band ``floor(x)`` and ``f`` on the next band."""
    finite = np.isfinite(pos)
    n = len(pos)
    if not finite.any():
        return sp.csr_array((n, 0)), 0, 0
    lo = np.floor(np.where(finite, pos, 0.0)).astype(np.int64)
    base = int(lo[finite].min())
    lo -= base
    frac = np.where(finite, pos - np.floor(np.where(finite, pos, 0.0)), 0.0)
    rows = np.flatnonzero(finite)
    n_bands = int(lo[finite].max()) + 2
    r = np.concatenate([rows, rows])
    c = np.concatenate([lo[rows], lo[rows] + 1])
    v = np.concatenate([1.0 - frac[rows], frac[rows]])
    keep = v > 0
    m = sp.csr_array((v[keep], (r[keep], c[keep])), shape=(n, n_bands))
    m.sum_duplicates()
    return m, base, n_bands


def _pretty(value: Any) -> str:
    return str(value).replace("_", " ")


class ContentBased(Recommender):
    """Recommend products whose catalogue attributes resemble what the customer likes.

    Works without any interaction on the product (a new product is served from day one), and for
    a customer without purchases who declared their sports.

    Parameters
    ----------
    columns : list of str or dict {column: weight}, optional
        Categorical and numeric catalogue columns to use, with optional weights (default 1).
        ``None`` (default) detects them from the catalogue: boolean columns and string columns
        that do not hold one value per product are categorical (beyond ``max_levels`` values,
        the rarest are folded into "other", with a :class:`~recokit.DataWarning`); numeric
        columns are scaled (``price_column`` as log-price bands). ``stock``, ``name`` and
        id-like columns are skipped; ``category_column`` gets weight 2.
    text_columns : list of str or dict {column: weight}, optional
        Free-text columns vectorised with TF-IDF. ``None`` (default) takes string columns named
        ``description``/``tags``/``keywords``/``text`` or whose values average 30+ characters;
        ``[]`` uses none.
    price_column : str or None
        The numeric column encoded as log-price bands (default ``'price'``).
    price_band_ratio : float
        Width of one price band as a ratio (default 1.5): two prices overlap when within this
        factor of each other.
    category_column : str or None
        The column that defines "comparable" for :meth:`alternatives` (default ``'category'``).
    stock_column : str or None
        Numeric or boolean availability column used by :meth:`alternatives` (default ``'stock'``;
        a product is in stock when the value is > 0 / True; null counts as out of stock).
    declared_mapping : dict {customer column: catalogue column}, optional
        How declared customer data becomes a profile for customers without purchases. Values are
        split on ``, ; | /`` and matched, case-insensitively, against the values of the
        (categorical) catalogue column. ``None`` uses :data:`DEFAULT_DECLARED_MAPPING`
        (``declared_sports -> sport``, ``level -> level``) wherever both columns exist; ``{}``
        turns declared profiles off.
    half_life_days : float or None
        Recency weighting of a customer's purchases: weight ``0.5 ** (age_days / half_life_days)``
        at the request's ``now`` (default 180). ``None``: all purchases count the same. A product
        bought several times counts once, with its most recent purchase.
    max_levels : int
        How many values of an automatically detected categorical column are kept (default 50):
        a column with more keeps its ``max_levels`` most frequent values and folds the others
        into "other", which matches nothing, and a :class:`~recokit.DataWarning` says how many
        values and products were folded (:attr:`folded_`). ``category_column`` and columns named
        in ``columns`` keep every value.

        .. versionchanged:: 0.2.0
           Such a column used to be dropped without a word.

    Notes
    -----
    The profile of a request is, in order of precedence: the context items (product page, cart);
    else the customer's purchases up to the request's ``now``, recency-weighted; else the
    customer's declared data. Without any of these, every score is NaN (no opinion). Items whose
    vector is empty (no usable attribute) are NaN too. Scores are cosines in [0, 1].

    Examples
    --------
    >>> from recokit import ContentBased, Query
    >>> from recokit.datasets import sports_shop
    >>> shop = sports_shop(300, seed=1)
    >>> model = ContentBased().fit(shop)
    >>> item = shop.catalog["item_id"][0]
    >>> alts = model.alternatives(item, k=3)
    >>> len(alts) <= 3 and item not in alts.item_ids
    True
    """

    columns: Sequence[str] | Mapping[str, float] | None = param(
        default=None,
        check=_weights_check("columns"),
        doc="Categorical and numeric catalogue columns to use, with optional weights (default 1). ``None`` "
        "(default) detects them from the catalogue: boolean columns and string columns that do not hold one "
        "value per product are categorical (beyond ``max_levels`` values, the rarest folded into 'other'); numeric columns are "
        "scaled (``price_column`` as log-price bands). ``stock``, ``name`` and id-like columns are skipped; "
        "``category_column`` gets weight 2.",
    )
    text_columns: Sequence[str] | Mapping[str, float] | None = param(
        default=None,
        check=_weights_check("text_columns"),
        doc="Free-text columns vectorised with TF-IDF. ``None`` (default) takes string columns named "
        "``description``/``tags``/``keywords``/``text`` or whose values average 30+ characters; ``[]`` uses none.",
    )
    price_column: str | None = param(
        default="price",
        check=Optional(InstanceOf(str)),
        doc="The numeric column encoded as log-price bands.",
    )
    price_band_ratio: float = param(
        default=1.5,
        check=Interval(float, low=1, low_open=True),
        doc="Width of one price band as a ratio: two prices overlap when within this factor of each other.",
    )
    category_column: str | None = param(
        default="category",
        check=Optional(InstanceOf(str)),
        doc='The column that defines "comparable" for ``alternatives`` (weight 2 in the detection).',
    )
    stock_column: str | None = param(
        default="stock",
        check=Optional(InstanceOf(str)),
        doc="Numeric or boolean availability column used by ``alternatives`` (a product is in stock when the "
        "value is > 0 / True; null counts as out of stock).",
    )
    declared_mapping: Mapping[str, str] | None = param(
        default=None,
        check=Optional(
            Custom(lambda v: isinstance(v, Mapping), "a dict {customer column: catalogue column}")
        ),
        doc="How declared customer data becomes a profile for customers without purchases. Values are split on "
        "``, ; | /`` and matched, case-insensitively, against the values of the (categorical) catalogue column. "
        "``None`` uses ``DEFAULT_DECLARED_MAPPING`` (``declared_sports -> sport``, ``level -> level``) wherever "
        "both columns exist; ``{}`` turns declared profiles off.",
    )
    half_life_days: float | None = param(
        default=180.0,
        check=Optional(Interval(float, low=0, low_open=True)),
        doc="Recency weighting of a customer's purchases: weight ``0.5 ** (age_days / half_life_days)`` at the "
        "request's ``now``. ``None``: all purchases count the same. A product bought several times counts once, "
        "with its most recent purchase.",
    )
    max_levels: int = param(
        default=50,
        check=Interval(int, low=1),
        doc="How many values of an automatically detected categorical column are kept: beyond it, the rarest "
        "values are folded into 'other' (which matches nothing) with a DataWarning; ``category_column`` and "
        "columns named in ``columns`` keep every value.",
    )

    def _resolve_columns(self, cat: pl.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
        cols = _as_weights(self.columns, "columns")
        texts = _as_weights(self.text_columns, "text_columns")
        for name, given in (("columns", cols), ("text_columns", texts)):
            for c in given or {}:
                if c not in cat.columns:
                    raise DataError(
                        f"ContentBased({name}=...): the catalog has no column {c!r}.", hint=f"choose among {[x for x in cat.columns if x != 'item_id']}."
                    )
                if c == "item_id":
                    raise ConfigError(f"ContentBased({name}=...): 'item_id' is the product id, not an attribute.")
        n = cat.height
        if texts is None:
            texts = {}
            for c, dtype in cat.schema.items():
                if c in _AUTO_SKIP or (cols is not None and c in cols) or dtype != pl.String:
                    continue
                # polars types every Series.mean() as any Python literal; a length's mean is a float
                mean_len = cast("float | None", cat[c].str.len_chars().mean()) or 0.0
                if c.lower() in _TEXT_NAMES or (mean_len >= 30 and cat[c].n_unique() > self.max_levels):
                    texts[c] = 1.0
        if cols is None:
            cols = {}
            for c, dtype in cat.schema.items():
                if c in _AUTO_SKIP or c in texts or c == self.stock_column or c.endswith("_id"):
                    continue
                if dtype == pl.Boolean:
                    cols[c] = 1.0
                elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
                    # more than max_levels values: kept, its rarest values folded (see _fold)
                    levels = cat[c].drop_nulls().n_unique()
                    if 1 <= levels and (levels < n or n <= 1):
                        cols[c] = 2.0 if c == self.category_column else 1.0
                elif dtype.is_numeric():
                    cols[c] = 1.0
        for c in cols:
            dtype = cat.schema[c]
            ok = dtype in (pl.Boolean, pl.String, pl.Categorical) or isinstance(dtype, pl.Enum) or dtype.is_numeric()
            if not ok:
                raise DataError(
                    f"ContentBased(columns=...): column {c!r} has type {dtype}, which is neither categorical nor numeric.", hint="cast it to a string or a number, or leave it out."
                )
        for c in texts:
            if cat.schema[c] != pl.String:
                raise DataError(f"ContentBased(text_columns=...): column {c!r} has type {cat.schema[c]}, not text.", hint="cast it to a string.")
        return cols, texts

    specificity: ClassVar[int] = 30

    def signal(self) -> str:
        return "similar products"

    # -- fitting -----------------------------------------------------------------------------
    def _fit(self, dataset: Dataset) -> None:
        cols, texts = self._resolve_columns(dataset.catalog)
        #: {column: (values folded into "other", products that have one)} -- see _fold
        self.folded_: dict[str, tuple[int, int]] = {}
        parts, blocks, names = self._encode_columns(dataset.catalog, dataset.n_items, cols, texts)
        self._warn_folded()
        if dataset.n_items and not parts:
            warnings.warn(
                f"ContentBased learnt nothing: the catalogue has no usable attribute (columns {[c for c in dataset.catalog.columns if c != 'item_id']}), "
                f"so all {dataset.n_items} products are NaN (no opinion) and lists are the back-fill only. "
                "Hint: give a catalogue with category, brand, price or description columns, or name them with columns=[...] / text_columns=[...].",
                DataWarning,
                stacklevel=3,
            )
        self._fit_vectors(dataset, parts, blocks, names, cols)
        self._fit_history(dataset)
        self._fit_declared(dataset)

    #: what _fit_history and _fit_declared set: the per-customer state (the rest is the catalogue's)
    _PER_CUSTOMER: ClassVar[frozenset[str]] = frozenset({"_hist_ptr", "_hist_item", "_hist_w", "_hist_t", "declared_columns_", "declared_profiles_"})

    def _update(self, previous: ContentBased, change: DataChange) -> None:
        """The item vectors are the catalogue's: kept when the catalogue did not change (a
        forget, new orders on known products); the per-customer tables -- purchase histories,
        declared profiles -- are built again from the changed Dataset."""
        before, after = change.before.catalog, change.after.catalog
        if not (after is before or after.equals(before, null_equal=True)):
            self._fit(change.after)
            return
        vars(self).update({k: v for k, v in vars(previous).items() if k not in self._PER_CUSTOMER and k not in ("dataset_", "fallback_order_")})
        self._fit_history(change.after)
        self._fit_declared(change.after)

    def _encode_columns(
        self, cat: pl.DataFrame, n: int, cols: dict[str, float], texts: dict[str, float]
    ) -> tuple[list[sp.csr_array], list[ColumnBlock], list[str]]:
        """Each used column as a unit-row block (items x its features), its :class:`ColumnBlock` and
        its feature names; columns without a feature or with weight 0 are left out."""
        from recokit.adapters.sklearn import tfidf_matrix

        parts: list[sp.csr_array] = []
        blocks: list[ColumnBlock] = []
        names: list[str] = []
        start = 0

        def add(column: str, kind: str, m: sp.csr_array, labels: list[str], weight: float) -> None:
            nonlocal start
            if m.shape[1] == 0 or weight == 0:
                return
            parts.append(_unit_rows(m))
            blocks.append(ColumnBlock(column, kind, start, start + m.shape[1], weight))
            names.extend(labels)
            start += m.shape[1]

        for c, w in cols.items():
            encoded = self._encode_column(c, cat[c], n)
            if encoded is not None:
                add(c, *encoded, w)
        for c, w in texts.items():
            m, vocab = tfidf_matrix(cat[c].to_list())
            add(c, "text", m, [f"{c}:{t}" for t in vocab], w)
        return parts, blocks, names

    def _encode_column(self, c: str, s: pl.Series, n: int) -> tuple[str, sp.csr_array, list[str]] | None:
        """``(kind, items x features, feature names)`` of one attribute column (None: a constant
        numeric column, which says nothing about likeness)."""
        if s.dtype.is_numeric() and s.dtype != pl.Boolean:
            x = s.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(np.float64)
            if c == self.price_column:
                with np.errstate(divide="ignore", invalid="ignore"):
                    pos = np.where(x > 0, np.log(x) / math.log(self.price_band_ratio), np.nan)
                m, base, nb = _banded(pos)
                return "price", m, [f"{c}~{self.price_band_ratio ** (base + b):.4g}" for b in range(nb)]
            finite = np.isfinite(x)
            sd = float(np.std(x[finite])) if finite.sum() > 1 else 0.0
            if sd == 0:
                return None
            pos = (x - float(np.mean(x[finite]))) / (0.5 * sd)
            m, base, nb = _banded(pos)
            return "numeric", m, [f"{c}@{base + b}" for b in range(nb)]
        vals = self._fold(c, s.cast(pl.String))
        levels = sorted(vals.drop_nulls().unique().to_list())
        lookup = {v: j for j, v in enumerate(levels)}
        v_list = vals.to_list()
        rows = np.array([i for i, v in enumerate(v_list) if v is not None], dtype=np.int64)
        colsx = np.array([lookup[v] for v in v_list if v is not None], dtype=np.int64)
        m = sp.csr_array((np.ones(len(rows)), (rows, colsx)), shape=(n, len(levels)))
        return "categorical", m, [f"{c}={v}" for v in levels]

    def _fold(self, c: str, vals: pl.Series) -> pl.Series:
        """An automatically detected column with more than ``max_levels`` values keeps its
        ``max_levels`` most frequent values; the others become "other", which matches nothing
        (null): two products are not alike because both are rare. ``category_column`` (what
        "comparable" means) and columns named in ``columns=`` keep all their values."""
        counts = vals.drop_nulls().value_counts(sort=False)
        if self.columns is not None or c == self.category_column or counts.height <= self.max_levels:
            return vals
        top = counts.sort(["count", vals.name], descending=[True, False]).head(self.max_levels)[vals.name]
        kept = vals.is_in(top.implode())
        self.folded_[c] = (counts.height - self.max_levels, int((~kept & vals.is_not_null()).sum()))
        return pl.select(pl.when(kept).then(vals)).to_series().alias(vals.name)

    def _warn_folded(self) -> None:
        if not self.folded_:
            return
        parts = [f"{c!r}: {n + self.max_levels} values, the {n} rarest (on {p} products) folded into 'other'" for c, (n, p) in self.folded_.items()]
        warnings.warn(
            f"ContentBased: {len(self.folded_)} catalogue column(s) have more than max_levels={self.max_levels} values ({'; '.join(parts)}); "
            f"products with an 'other' value are not matched on that column. Hint: raise max_levels=, or name the columns with columns=[...] "
            "to use every value.",
            DataWarning,
            stacklevel=4,
        )

    def _fit_vectors(
        self, dataset: Dataset, parts: list[sp.csr_array], blocks: list[ColumnBlock], names: list[str], cols: dict[str, float]
    ) -> None:
        """The item vectors from the column blocks, and what explanations need about features."""
        cat = dataset.catalog
        n = dataset.n_items
        self.blocks_ = tuple(blocks)
        self.feature_names_ = names
        self.attribute_columns_ = {b.column: b.kind for b in blocks}
        if parts:
            unit = sp.csr_array(sp.hstack(parts, format="csr"))
            scale = np.concatenate([np.full(b.stop - b.start, math.sqrt(b.weight)) for b in blocks])
        else:
            unit = sp.csr_array((n, 0))
            scale = np.empty(0)
        #: per-column unit blocks, unweighted (what ``explain`` compares column by column)
        self.block_vectors_ = unit
        #: the item vectors: weighted blocks, L2-normalised rows (n_items x n_features)
        self.item_vectors_ = _unit_rows(sp.csr_array(unit @ sp.diags_array(scale))) if parts else unit
        self.item_vectors_.sort_indices()
        self.item_vectors_t_ = sp.csr_array(self.item_vectors_.T)
        self.has_vector_ = np.diff(self.item_vectors_.indptr) > 0
        self._feature_scale = scale
        # for explanations: the block of each feature, and the share of products having it
        self._feature_block = np.repeat(np.arange(len(blocks)), [b.stop - b.start for b in blocks]).astype(np.int64)
        self._feature_share = np.bincount(unit.indices, minlength=unit.shape[1]) / max(n, 1)
        self._boolean = {c for c in cols if cat.schema[c] == pl.Boolean}

    def _fit_history(self, dataset: Dataset) -> None:
        """Purchase history, grouped by customer, for recency-weighted profiles at request time."""
        inter = dataset.interactions.sort(["customer_idx", "item_idx"], maintain_order=True)
        c_idx = inter["customer_idx"].to_numpy()
        self._hist_ptr = np.searchsorted(c_idx, np.arange(dataset.n_customers + 1)).astype(np.int64)
        self._hist_item = inter["item_idx"].to_numpy().astype(np.int64)
        self._hist_w = inter["weight"].to_numpy().astype(np.float64)
        self._hist_t = (
            inter["timestamp"].to_numpy().astype("datetime64[us]").astype(np.int64) if dataset.has_time else None
        )

    def _fit_declared(self, dataset: Dataset) -> None:
        n_c = dataset.n_customers
        n_f = self.item_vectors_.shape[1]
        self.declared_columns_: dict[str, str] = {}
        cust = dataset.customers
        explicit = self.declared_mapping is not None
        mapping = dict(DEFAULT_DECLARED_MAPPING if self.declared_mapping is None else self.declared_mapping)
        blocks = {b.column: b for b in self.blocks_}
        for ccol, icol in mapping.items():
            if cust is None or ccol not in cust.columns:
                if explicit:
                    where = "there is no customer table" if cust is None else f"the customer table has no column {ccol!r}"
                    raise DataError(
                        f"ContentBased(declared_mapping=...): {where}.", hint="build the Dataset with customers=... holding that column, or fix the mapping."
                    )
                continue
            block = blocks.get(icol)
            if block is None or block.kind != "categorical":
                if explicit:
                    raise ConfigError(
                        f"ContentBased(declared_mapping=...): {ccol!r} is mapped to catalogue column {icol!r}, which is not a categorical attribute of the model.", hint=f"categorical attributes: {[b.column for b in self.blocks_ if b.kind == 'categorical']}."
                    )
                continue
            self.declared_columns_[ccol] = icol
        pairs = [pl.DataFrame(schema={"r": pl.Int64, "f": pl.Int64})]
        if self.declared_columns_ and cust is not None:
            cidx = dataset.customer_ids.index(cust["customer_id"].to_list(), missing="ignore")
            for ccol, icol in self.declared_columns_.items():
                block = blocks[icol]
                levels = [self.feature_names_[f].split("=", 1)[1] for f in range(block.start, block.stop)]
                lookup = pl.DataFrame(
                    {"key": [v.strip().lower() for v in levels], "f": np.arange(block.start, block.stop, dtype=np.int64)}
                )
                raw = cust[ccol]
                if isinstance(raw.dtype, pl.List):
                    values = raw.list.eval(pl.element().cast(pl.String))
                else:  # "running, cycling" / "running;cycling" / "running|cycling"
                    values = raw.cast(pl.String).str.replace_all(r"[;|/]", ",").str.split(",")
                frame = (
                    pl.DataFrame({"r": cidx, "v": values})
                    .filter(pl.col("r") >= 0)
                    .explode("v")
                    .with_columns(key=pl.col("v").str.strip_chars().str.to_lowercase())
                )
                # unmatched values ("chess") are ignored: the inner join keeps known values only
                pairs.append(frame.join(lookup, on="key", how="inner").select("r", "f"))
        # a value declared twice ("running,Running"), or by two mapped columns, counts once
        both = pl.concat(pairs).unique().sort("r", "f")
        rows, feats = both["r"].to_numpy(), both["f"].to_numpy()
        vals = np.sqrt(np.array([b.weight for b in self.blocks_])[self._feature_block[feats]]) if len(feats) else np.empty(0)
        d = sp.csr_array((vals.astype(np.float64), (rows, feats)), shape=(n_c, n_f))
        d.sort_indices()
        #: customers x features: the profile each customer's declared data maps to
        self.declared_profiles_ = d

    # -- profiles ----------------------------------------------------------------------------
    def _now_us(self, now: dt.datetime | None) -> int | None:
        if self._hist_t is None:
            return None
        when = now if now is not None else self.dataset_.last_time
        return int(np.datetime64(when, "us").astype(np.int64))

    def _history_entries(self, customer_idx: np.ndarray, now: dt.datetime | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(batch row, item, weight) of each customer's recency-weighted purchases at ``now``."""
        starts, stops = self._hist_ptr[customer_idx], self._hist_ptr[customer_idx + 1]
        take = ragged_ranges(starts, stops)
        rows = np.repeat(np.arange(len(customer_idx)), stops - starts)
        hist_t, now_us = self._hist_t, self._now_us(now)  # now_us is None when hist_t is
        if hist_t is not None and now_us is not None:  # only what was bought up to the request's `now`
            before = hist_t[take] <= now_us
            take, rows = take[before], rows[before]
        w = self._hist_w[take]
        if hist_t is not None and now_us is not None and self.half_life_days is not None:
            age = (now_us - hist_t[take]) / DAY_US
            w = w * np.power(0.5, age / float(self.half_life_days))
        items = self._hist_item[take]
        # one vote per product (its most recent, heaviest purchase): ten orders of the same gel
        # should not drown the rest of the profile. Rows are sorted by (customer, item).
        if len(rows):
            first = np.flatnonzero(np.r_[True, (rows[1:] != rows[:-1]) | (items[1:] != items[:-1])])
            w, rows, items = np.maximum.reduceat(w, first), rows[first], items[first]
        # products without attributes, or with weight 0 (an event type weighted 0), say nothing
        keep = (w > 0) & self.has_vector_[items]
        return rows[keep], items[keep], w[keep]

    def _history_weights(self, customer_idx: np.ndarray, now: dt.datetime | None) -> sp.csr_array:
        """Batch x items: each customer's recency-weighted purchases at ``now``."""
        rows, items, w = self._history_entries(customer_idx, now)
        return sp.csr_array((w, (rows, items)), shape=(len(customer_idx), self.dataset_.n_items))

    def _pair_dots(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosine of item ``a[t]`` with item ``b[t]``, for every pair ``t`` at once.

        Summed over ``a[t]``'s stored features in order, one product per feature (0 where
        ``b[t]`` lacks it): the same additions whichever pairs are asked together.
        """
        x = self.item_vectors_
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        starts, stops = x.indptr[a], x.indptr[a + 1]
        take = ragged_ranges(starts, stops)
        owner = np.repeat(np.arange(len(a)), stops - starts)
        other = np.zeros(len(take))
        if len(take):
            # b's values at a's features: look (local row, feature) keys up in b's rows only
            ub, local = np.unique(b, return_inverse=True)
            sub = sp.csr_array(x[ub])
            sub.sort_indices()
            width = np.int64(x.shape[1])
            keys = entry_rows(sub.indptr) * width + sub.indices
            want = local[owner] * width + x.indices[take]
            if len(keys):
                pos = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
                hit = keys[pos] == want
                other[hit] = sub.data[pos[hit]]
        return np.bincount(owner, weights=x.data[take] * other, minlength=len(a))

    def _profiles(self, customer_idx: np.ndarray, now: dt.datetime | None) -> tuple[sp.csr_array, np.ndarray]:
        """Profiles (batch x features) and their source: 1 history, 2 declared, 0 none."""
        customer_idx = np.asarray(customer_idx, dtype=np.int64)
        prof = sp.csr_array(self._history_weights(customer_idx, now) @ self.item_vectors_)
        source = np.where(np.diff(prof.indptr) > 0, 1, 0)
        missing = np.flatnonzero(source == 0)
        if len(missing) and self.declared_profiles_.nnz:
            decl = self.declared_profiles_[customer_idx]
            has_decl = np.diff(decl.indptr) > 0
            use = has_decl & (source == 0)
            if use.any():
                keep = sp.diags_array((source == 1).astype(np.float64))
                pick = sp.diags_array(use.astype(np.float64))
                prof = sp.csr_array(keep @ prof + pick @ decl)
                source = np.where(use, 2, source)
        return prof, source

    def _score_profiles(self, prof: sp.csr_array) -> np.ndarray:
        raw = (prof @ self.item_vectors_t_).toarray() if prof.shape[1] else np.zeros((prof.shape[0], self.dataset_.n_items))
        norms = np.sqrt(np.asarray(prof.multiply(prof).sum(axis=1)).ravel())
        with np.errstate(invalid="ignore", divide="ignore"):
            scores = raw / norms[:, None]
        scores[norms == 0] = np.nan
        scores[:, ~self.has_vector_] = np.nan
        scores[raw <= 0] = np.nan  # shares nothing with the profile: no opinion (back-fill's turn), not a 0
        return np.clip(scores, 0.0, 1.0, out=scores, where=np.isfinite(scores))

    def _score(self, batch: Batch) -> ScoreBlock:
        """Rows with context items: the context's profile (their history is not used); other rows
        with a visible customer: their purchases up to ``now``, else their declared data; the
        rest: no profile, no opinion. Each group is scored with one matrix product."""
        scores = np.full((batch.n, batch.n_items), np.nan)
        ctx_rows = np.flatnonzero(batch.has_context)
        if len(ctx_rows):
            prof = sp.csr_array(sp.csr_array(batch.context[ctx_rows]) @ self.item_vectors_)
            scores[ctx_rows] = self._score_profiles(prof)
        cust_rows = np.flatnonzero(batch.known & ~batch.has_context)
        if len(cust_rows):
            prof, _ = self._profiles(batch.customer_idx[cust_rows], batch.now)
            scores[cust_rows] = self._score_profiles(prof)
        return ScoreBlock.dense(scores)

    # -- explanations ------------------------------------------------------------------------
    def _matched(self, a: int, b: int, limit: int = 3) -> list[str]:
        """The attributes items ``a`` and ``b`` share, most telling first.

        Order: the category, then a similar price, then the other shared values, rarest first
        (values shared by more than half the catalogue -- "adult" -- say nothing and are left
        out), then other numbers, then words the descriptions have in common.
        """
        u = self.block_vectors_
        fa, va = u.indices[u.indptr[a] : u.indptr[a + 1]], u.data[u.indptr[a] : u.indptr[a + 1]]
        fb, vb = u.indices[u.indptr[b] : u.indptr[b + 1]], u.data[u.indptr[b] : u.indptr[b + 1]]
        common, ia, ib = np.intersect1d(fa, fb, assume_unique=True, return_indices=True)
        prod = va[ia] * vb[ib]
        blk_of = self._feature_block[common]
        sims = np.bincount(blk_of, weights=prod, minlength=len(self.blocks_))
        found: list[tuple[int, float, int, str]] = []
        for k in np.flatnonzero(sims > 0).tolist():
            blk = self.blocks_[k]
            sim = float(sims[k])
            if blk.kind == "categorical":
                f = int(common[blk_of == k][0])
                value = self.feature_names_[f].split("=", 1)[1]
                if blk.column == self.category_column:
                    found.append((0, 0.0, k, f"same {_pretty(blk.column)}: {_pretty(value)}"))
                    continue
                share = float(self._feature_share[f])
                if share > 0.5 or (blk.column in self._boolean and value != "true"):
                    continue
                text = f"both {_pretty(blk.column)}" if blk.column in self._boolean else f"same {_pretty(blk.column)}: {_pretty(value)}"
                found.append((2, share, k, text))
            elif blk.kind == "price":
                if sim >= 0.5:
                    found.append((1, 0.0, k, "similar price"))
            elif blk.kind == "numeric":
                if sim >= 0.5:
                    found.append((3, -sim, k, f"similar {_pretty(blk.column)}"))
            elif sim >= 0.1:
                mine = blk_of == k
                order = np.lexsort((common[mine], -prod[mine]))[:2]
                words = [self.feature_names_[int(common[mine][j])].split(":", 1)[1] for j in order]
                found.append((4, -sim, k, f"{_pretty(blk.column)} mentions {' and '.join(repr(w) for w in words)}"))
        found.sort()
        return [t for *_, t in found[:limit]]

    def _name(self, item_idx: int) -> str:
        return item_label(self.dataset_, item_idx, with_id=True)

    def _explain(self, batch: Batch, rows: np.ndarray, items: np.ndarray, block: ScoreBlock) -> list[str | None]:
        """Context rows: the context item most like the suggestion; customer rows: the purchase
        contributing most to its score (else the declared data that matched)."""
        rows, items = np.asarray(rows, dtype=np.int64), np.asarray(items, dtype=np.int64)
        out: list[str | None] = [None] * len(rows)
        usable = self.has_vector_[items]
        ctx = np.flatnonzero(usable & batch.has_context[rows])
        if len(ctx):
            c = batch.context
            best, dots = self._best_sources(c.indptr, c.indices.astype(np.int64), None, rows[ctx], items[ctx])
            for j, src, dot in zip(ctx.tolist(), c.indices[best].tolist(), dots.tolist(), strict=True):
                out[j] = self._reason_like(int(src), int(items[j]), "like", dot)
        cust = np.flatnonzero(usable & batch.known[rows] & ~batch.has_context[rows])
        if len(cust):
            self._explain_customers(batch, rows[cust], items[cust], cust, out)
        return out

    def _explain_customers(self, batch: Batch, rows: np.ndarray, items: np.ndarray, slots: np.ndarray, out: list[str | None]) -> None:
        """Reasons of customer-only pairs, written to ``out[slots[j]]``."""
        urows, local = np.unique(rows, return_inverse=True)
        customers = batch.customer_idx[urows]
        h_rows, h_items, h_w = self._history_entries(customers, batch.now)
        ptr = np.searchsorted(h_rows, np.arange(len(urows) + 1)).astype(np.int64)
        has = np.diff(ptr)[local] > 0
        with_history = np.flatnonzero(has)
        if len(with_history):
            best, dots = self._best_sources(ptr, h_items, h_w, local[with_history], items[with_history])
            # the history holds views and cart adds too: only a purchase is called one
            bought, _ = last_purchase(self.dataset_, customers[local[with_history]], h_items[best], batch.now)
            for j, src, dot, b in zip(with_history.tolist(), h_items[best].tolist(), dots.tolist(), bought.tolist(), strict=True):
                i = int(items[j])
                if src == i:  # a purchase is worded as a re-purchase by the explain stage (recokit.core.reasons)
                    out[slots[j]] = "you bought this before" if b else "because of your interest in this product"
                else:
                    out[slots[j]] = self._reason_like(int(src), i, "similar to your" if b else "similar to", dot)
        for j in np.flatnonzero(~has).tolist():
            out[slots[j]] = self._declared_reason(int(customers[local[j]]), int(items[j]))

    def _best_sources(
        self, ptr: np.ndarray, src: np.ndarray, weight: np.ndarray | None, rows: np.ndarray, items: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each pair ``(rows[j], items[j])``: among the row's source items
        ``src[ptr[r]:ptr[r+1]]`` (sorted, at least one), the one with the largest
        ``weight x cosine`` with ``items[j]`` (ties: the smaller item). Returns its position in
        ``src`` and its cosine with ``items[j]``.
        """
        best = np.zeros(len(rows), dtype=np.int64)
        best_dot = np.zeros(len(rows))
        nnz = np.diff(self.item_vectors_.indptr)
        cum = np.concatenate([[0], np.cumsum(nnz[src])])
        cost = (cum[ptr[rows + 1]] - cum[ptr[rows]]).astype(np.int64)  # features summed per pair
        bounds = np.searchsorted(np.cumsum(cost), np.arange(1, int(cost.sum()) // _PAIR_CHUNK + 1) * _PAIR_CHUNK)
        for chunk in np.split(np.arange(len(rows)), np.unique(bounds)):
            if not len(chunk):
                continue
            starts, stops = ptr[rows[chunk]], ptr[rows[chunk] + 1]
            ent = ragged_ranges(starts, stops)
            pair = np.repeat(np.arange(len(chunk)), stops - starts)
            dots = self._pair_dots(src[ent], items[chunk][pair])
            score = dots if weight is None else weight[ent] * dots
            order = np.lexsort((src[ent], -score, pair))
            first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
            best[chunk[pair[first]]] = ent[first]
            best_dot[chunk[pair[first]]] = dots[first]
        return best, best_dot

    def _declared_reason(self, c: int, item_idx: int) -> str | None:
        d = self.declared_profiles_
        feats = d.indices[d.indptr[c] : d.indptr[c + 1]]
        decl = [(self.blocks_[self._feature_block[f]].column, self.feature_names_[f].split("=", 1)[1]) for f in feats.tolist()]
        if decl:
            item_vals = {(blk.column, _pretty(self.dataset_.catalog[blk.column][item_idx])) for blk in self.blocks_ if blk.kind == "categorical"}
            hits = [f"{_pretty(col)}: {_pretty(v)}" for col, v in decl if (col, _pretty(v)) in item_vals]
            if hits:
                return "matches your declared " + ", ".join(dict.fromkeys(hits))
            declared = ", ".join(dict.fromkeys(_pretty(v) for _, v in decl))
            return f"not linked to your declared interests ({declared})"
        return None

    def _reason_like(self, j: int, i: int, lead: str, dot: float) -> str:
        """The reason for item ``i`` from source item ``j`` (``dot``: their cosine)."""
        if dot <= 0:
            if lead == "like":
                return f"unlike {self._name(j)} (no attribute in common)"
            return "unlike your purchases (no attribute in common)" if self.dataset_.only_purchases else "unlike your past choices (no attribute in common)"
        matched = self._matched(j, i)
        if lead == "similar to your":
            head = f"similar to your {self._name(j)}"
        elif lead == "similar to":  # an item the customer viewed or carted, never bought
            head = f"similar to {self._name(j)}, which you showed interest in"
        else:
            head = f"like {self._name(j)}"
        return f"{head}: {'; '.join(matched)}" if matched else f"{head} (few attributes in common)"

    # -- item-to-item ------------------------------------------------------------------------
    def similarity(self, item_a: Hashable, item_b: Hashable) -> float:
        """Cosine similarity of two catalogue products' attribute vectors (NaN if either is unknown
        or has no usable attribute).

        Examples
        --------
        >>> from recokit import ContentBased
        >>> from recokit.datasets import sports_shop
        >>> shop = sports_shop(300, seed=1)
        >>> model = ContentBased().fit(shop)
        >>> a = shop.catalog["item_id"][0]
        >>> round(model.similarity(a, a), 6)
        1.0
        """
        self._check_fitted()
        ia, ib = self.dataset_.item_ids.get(item_a), self.dataset_.item_ids.get(item_b)
        if ia is None or ib is None or not (self.has_vector_[ia] and self.has_vector_[ib]):
            return math.nan
        return float(min(1.0, (self.item_vectors_[[ia]].multiply(self.item_vectors_[[ib]])).sum()))

    def _in_stock(self, dataset: Dataset) -> np.ndarray | None:
        col = self.stock_column
        if col is None or col not in dataset.catalog.columns:
            return None
        s = dataset.catalog[col]
        if s.dtype == pl.Boolean:
            return s.fill_null(False).to_numpy().astype(bool)
        if not s.dtype.is_numeric():
            raise DataError(f"ContentBased: stock column {col!r} must be numeric or boolean; got {s.dtype}.", hint="cast it, or pass stock_column=None.")
        return (s.cast(pl.Float64).fill_null(0.0).fill_nan(0.0) > 0).to_numpy()

    def alternatives(
        self,
        item_id: Hashable,
        k: int = 5,
        *,
        in_stock_only: bool = True,
        same_category: bool = True,
        exclude: Sequence[Hashable] = (),
        dataset: Dataset | None = None,
    ) -> Recommendations:
        """Comparable products to offer instead of ``item_id`` (e.g. when it is out of stock).

        Candidates share the product's ``category_column`` value (when ``same_category``) and,
        when ``in_stock_only`` and the catalogue has ``stock_column``, are in stock. They are
        ranked by attribute similarity (category, price band, brand, description...); each comes
        with the attributes that matched. The product itself is never its own alternative.

        Parameters
        ----------
        item_id
            The product on screen.
        k : int
            At most this many alternatives (fewer when the category runs out).
        in_stock_only : bool
            Skip products whose stock is 0, False or null.
        same_category : bool
            Only products of the same category.
        exclude : list of item ids
            Products never to offer.
        dataset : Dataset, optional
            Read stock from this dataset (e.g. ``shop.with_catalog(fresh_stock)``) instead of
            the fitted one: stock changes need no refit.

        Returns
        -------
        Recommendations
            Best first; empty for an unknown product.

        Examples
        --------
        >>> from recokit import ContentBased
        >>> from recokit.datasets import sports_shop
        >>> shop = sports_shop(300, seed=1)
        >>> model = ContentBased().fit(shop)
        >>> shoe = shop.catalog.filter(category="running_shoes")["item_id"][0]
        >>> alts = model.alternatives(shoe, k=3)
        >>> all(r.reason.startswith("same category: running shoes") for r in alts)
        True
        """
        self._check_fitted()
        query = Query(items=[item_id], k=k, exclude=exclude)
        ds = self.dataset_
        idx = ds.item_ids.get(item_id)
        if idx is None or not self.has_vector_[idx]:
            return Recommendations(items=(), query=query)
        sims = np.asarray((self.item_vectors_ @ self.item_vectors_[[idx]].T).toarray()).ravel()
        sims = np.minimum(sims, 1.0)
        allowed = self.has_vector_.copy()
        allowed[idx] = False
        ex = ds.item_ids.index(query.exclude, missing="ignore")
        allowed[ex[ex >= 0]] = False
        if same_category and self.category_column is not None and self.category_column in ds.catalog.columns:
            cats = ds.catalog[self.category_column]
            allowed &= (cats == cats[idx]).fill_null(False).to_numpy()
        if in_stock_only:
            source = dataset if dataset is not None else ds
            if dataset is not None and dataset.item_ids != ds.item_ids:
                raise DataError("alternatives(dataset=...): the dataset's items differ from the fitted ones.", hint="use fitted.with_catalog(new_catalog).")
            stock = self._in_stock(source)
            if stock is not None:
                allowed &= stock
        picked = top_k(sims[None, :], allowed[None, :], query.k)[0]
        picked = picked[picked >= 0]
        recs = []
        for rank, j in enumerate(picked.tolist(), start=1):
            matched = self._matched(idx, j)
            reason = "; ".join(matched) if matched else "few attributes in common"
            recs.append(Recommendation(rank=rank, item_id=ds.item_ids.id(j), score=float(sims[j]), reason=reason))
        return Recommendations(items=tuple(recs), query=query)

    def similar_items(self, item_id: Hashable, k: int = 10) -> Recommendations:
        """The ``k`` products most like ``item_id`` by attributes, any category, in stock or not.

        Same as ``alternatives(item_id, k, in_stock_only=False, same_category=False)``.
        """
        return self.alternatives(item_id, k, in_stock_only=False, same_category=False)
