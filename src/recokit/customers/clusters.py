"""Behavioural clusters of customers (:func:`cluster`), each described in words.

What is clustered
-----------------
``method="mixture"`` (the default) clusters a customer's **behaviour profile**
(:mod:`recokit.customers.behaviour`): what they buy (their mix of sports, shrunk towards the
shop's for customers with few lines), how broad it is (specialist or generalist), their rhythm
(orders per year over their active span) and, when the catalogue says which items are for
children, their share of children's lines; each block scaled to the same weight. The other
methods cluster what they buy only: for each catalogue column of ``by`` (default ``category``,
else ``sport``, else the items), the share of their purchase lines in each value, square-rooted
(the Hellinger embedding of a composition: every customer's vector has length 1, so a customer
with 40 orders and one with 4 weigh the same). With several columns each block is divided by
the square root of their number. Lines, not money: one bike is 90 % of a runner's spend, but
one line of their purchases. Only customers with a purchase in the window are clustered; the
others get a null ``cluster`` and say so.

Methods
-------
``"mixture"`` (default): a full-covariance Gaussian mixture, seeded, fitted on a seeded sample
of at most ``sample`` customers (default 5,000) and applied to everyone. With ``k=None``, two
stages: the k of ``k_range`` (default 2-8) with the best silhouette, then each group split in
two when that split's own silhouette reaches 0.25 (see :mod:`recokit.customers.behaviour`).
``"kmeans"``: k-means++ (``n_init=4``, seeded). With ``k=None`` the number of clusters is the
one of ``k_range`` with the best mean silhouette, each k fitted and scored on the same seeded
sample of at most ``sample`` customers; the chosen k is then fitted on everyone.
``"agglomerative"``: Ward linkage (k chosen the same way), at most 20,000 customers.
``"dbscan"``: density clusters, ``eps`` by default the median distance to the
``min_samples``-th neighbour, label ``-1`` for customers in no dense group; no ``k``; at most
50,000 customers. Clusters are numbered by size, 0 the largest.

Descriptions
------------
Each cluster says its size, the value of each ``by`` column (and ``sport`` and ``category``
when the catalogue has them) whose share of its spend most exceeds the shop's share, with both
shares, and its baskets and orders per customer when they are at least 1.5x (or at most 1/1.5
of) the shop's: ``"412 customers (21 %): 71 % of spend in sport cycling (shop 18 %); baskets
3.2x the shop's average"``. Without prices (``price="units"``) shares are of units bought.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from recokit._errors import ConfigError, DataError
from recokit.adapters import sklearn as sk
from recokit.customers.behaviour import mixture_labels, profile_matrix
from recokit.customers.features import group_shares
from recokit.customers.orders import price_source, purchase_lines, reference
from recokit.data import Dataset

__all__ = ["MAX_CUSTOMERS", "METHODS", "behaviour_matrix", "choose_k", "cluster"]

#: The clustering methods of :func:`cluster`.
METHODS: tuple[str, ...] = ("mixture", "kmeans", "agglomerative", "dbscan")
#: The most customers the quadratic-memory methods accept.
MAX_CUSTOMERS = {"agglomerative": 20_000, "dbscan": 50_000}


def _by_columns(dataset: Dataset, by: Sequence[str] | None, method: str = "kmeans") -> list[str]:
    if by is None:
        for column in ("sport", "category") if method == "mixture" else ("category", "sport"):
            if column in dataset.catalog.columns:
                return [column]
        return ["item_id"]
    if isinstance(by, str):
        raise ConfigError(f"by must be a list of catalogue columns. Got the text {by!r}.", hint=f"pass by=[{by!r}].")
    missing = [c for c in by if c not in dataset.catalog.columns]
    if missing or not by:
        raise DataError(f"by: the catalogue has no column(s) {missing or '(none given)'}.", hint=f"choose among {dataset.catalog.columns}.")
    return list(by)


def behaviour_matrix(dataset: Dataset, lines: pl.DataFrame, by: Sequence[str], *, max_values: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """The clustered vectors of the customers with purchase lines in ``lines`` and their
    ``customer_idx`` (see the module docstring)."""
    blocks = []
    buyers = np.zeros(dataset.n_customers, dtype=bool)
    for column in by:
        shares, _, totals = group_shares(dataset, lines, column, weight="lines", max_values=max_values)
        buyers = totals > 0
        blocks.append(np.sqrt(shares[buyers]) / np.sqrt(len(by)))
    return np.hstack(blocks), np.flatnonzero(buyers)


def _labels(x: np.ndarray, method: str, k: int | None, seed: int, eps: float | None, min_samples: int) -> np.ndarray:
    if method == "mixture":
        assert k is not None
        return sk.gaussian_mixture(x, k, seed=seed)(x)
    if method == "kmeans":
        assert k is not None
        return sk.kmeans_labels(x, k, seed=seed)
    if method == "agglomerative":
        assert k is not None
        return sk.agglomerative_labels(x, k)
    return sk.dbscan_labels(x, eps=eps, min_samples=min_samples)[0]


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def choose_k(x: np.ndarray, *, method: str = "kmeans", k_range: tuple[int, int] = (2, 8), seed: int = 0, sample: int = 5000) -> pl.DataFrame:
    """``k, silhouette`` of each candidate number of clusters, on a seeded sample of the rows
    of ``x``; :func:`cluster` takes the best (the smallest k on a tie)."""
    rows = x[_sample(len(x), sample, seed)]
    distinct = len(np.unique(rows, axis=0))
    lo, hi = k_range[0], min(k_range[1], distinct, len(rows) - 1)
    out = []
    for k in range(lo, hi + 1):
        labels = _labels(rows, method, k, seed, None, 1)
        out.append((k, sk.silhouette(rows, labels) if len(np.unique(labels)) > 1 else float("nan")))
    return pl.DataFrame(out, schema={"k": pl.Int64, "silhouette": pl.Float64}, orient="row")


def _cluster_labels(
    x: np.ndarray, method: str, k: int | None, seed: int, k_range: tuple[int, int], sample: int, eps: float | None, min_samples: int
) -> np.ndarray:
    """The raw labels of :func:`cluster` (before numbering by size)."""
    if method == "mixture":
        return mixture_labels(x, k=k, seed=seed, sample=sample, k_range=k_range)
    if k is None and method != "dbscan":
        scores = choose_k(x, method=method, k_range=k_range, seed=seed, sample=sample).drop_nans()
        k = int(scores.sort(["silhouette", "k"], descending=[True, False])["k"][0])
    return _labels(x, method, k, seed, eps, min_samples)


def _check(method: str, k: Any, k_range: Any, n: int, sample: Any, min_samples: Any) -> None:
    if method not in METHODS:
        raise ConfigError(f"method must be one of {list(METHODS)}. Got {method!r}.")
    if method == "dbscan" and k is not None:
        raise ConfigError("method='dbscan' finds its own number of clusters: k must be None.", hint="tune eps= and min_samples= instead.")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= max(n, 2)):
        raise ConfigError(f"k must be an int between 2 and the number of customers clustered ({n}), or None. Got {k!r}.")
    ok_range = isinstance(k_range, tuple) and len(k_range) == 2 and all(isinstance(v, int) for v in k_range) and 2 <= k_range[0] <= k_range[1]
    if not ok_range:
        raise ConfigError(f"k_range must be a pair (low, high) with 2 <= low <= high. Got {k_range!r}.")
    for name, v in (("sample", sample), ("min_samples", min_samples)):
        if not isinstance(v, int) or isinstance(v, bool) or v < (2 if name == "min_samples" else 10):
            raise ConfigError(f"{name} must be an int >= {2 if name == 'min_samples' else 10}. Got {v!r}.")
    if n < 3:
        raise DataError(f"clustering needs at least 3 customers with a purchase in the window; there are {n}.", hint="widen window_days= or pass window_days=None.")
    if method in MAX_CUSTOMERS and n > MAX_CUSTOMERS[method]:
        raise ConfigError(
            f"method={method!r} needs memory growing with the square of the customers: at most {MAX_CUSTOMERS[method]:,}; there are {n:,}.",
            hint="use method='kmeans', or cluster a sample of the customers (Dataset.filter).",
        )


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, ... by decreasing size (ties: first appearance); -1 stays."""
    kept = labels[labels >= 0]
    if not kept.size:
        return labels
    values, first, counts = np.unique(kept, return_index=True, return_counts=True)
    order = values[np.lexsort((first, -counts))]
    remap = np.full(values.max() + 1, -1, dtype=np.int64)
    remap[order] = np.arange(order.size)
    return np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)


def _ratio_text(value: float, shop: float, what: str) -> str | None:
    """ "baskets 3.2x the shop's average" when the ratio is at least 1.5 or at most 1/1.5."""
    if not shop or not np.isfinite(value):
        return None
    ratio = value / shop
    return f"{what} {ratio:.1f}x the shop's average" if ratio >= 1.5 or ratio <= 1 / 1.5 else None


def _describe(dataset: Dataset, lines: pl.DataFrame, labels: pl.DataFrame, columns: list[str], unit: str) -> dict[int, str]:
    """One description per cluster label (see the module docstring)."""
    tagged = lines.join(labels, on="customer_idx", how="inner")
    n_all = labels.height
    shop_orders = tagged["basket_idx"].n_unique() / n_all
    shop_basket = float(tagged["value"].sum()) / max(tagged["basket_idx"].n_unique(), 1)
    texts: dict[int, list[str]] = {}
    for column in columns:
        groups = pl.DataFrame({"item_idx": np.arange(dataset.n_items), "group": dataset.catalog[column].cast(pl.String).fill_null("(none)")})
        spend = tagged.join(groups, on="item_idx").group_by("cluster", "group").agg(pl.col("value").sum())
        shop = spend.group_by("group").agg(pl.col("value").sum()).with_columns(pl.col("value") / pl.col("value").sum())
        shares = (
            spend.with_columns(pl.col("value") / pl.col("value").sum().over("cluster"))
            .join(shop.rename({"value": "shop"}), on="group")
            .with_columns((pl.col("value") - pl.col("shop")).alias("excess"))
            .sort(["cluster", "excess", "group"], descending=[False, True, False])
        )
        label = "item" if column == "item_id" else column
        for c, group, share, shop_share, _ in shares.group_by("cluster", maintain_order=True).first().iter_rows():
            of = f" of {unit}" if c not in texts else ""
            texts.setdefault(c, []).append(f"{share:.0%}{of} in {label} {group} (shop {shop_share:.0%})".replace("%", " %"))
    per = tagged.group_by("cluster").agg(pl.col("basket_idx").n_unique().alias("orders"), pl.col("value").sum().alias("spend"))
    sizes = dict(labels.group_by("cluster").len().iter_rows())
    for c, orders, spend in per.iter_rows():
        extra = [_ratio_text(spend / orders, shop_basket, "baskets"), _ratio_text(orders / sizes[c], shop_orders, "orders per customer")]
        texts.setdefault(c, []).extend(t for t in extra if t)
    out = {}
    for c, parts in texts.items():
        head = f"{sizes[c]} customers ({sizes[c] / n_all:.0%})".replace("%", " %")
        out[c] = ("noise, in no dense group: " if c == -1 else "") + head + ": " + "; ".join(parts)
    return out


def _description_price(dataset: Dataset, price: str) -> str:
    """``price``, with ``"auto"`` counting units when the dataset has no price at all (prices
    only word the descriptions here, which then say "of units bought")."""
    if price != "auto":
        return price
    try:
        return price_source(dataset, "auto")
    except DataError:
        return "units"


def cluster(
    dataset: Dataset,
    *,
    method: str = "mixture",
    k: int | None = None,
    seed: int = 0,
    at: Any = None,
    window_days: int | None = None,
    by: Sequence[str] | None = None,
    k_range: tuple[int, int] = (2, 8),
    sample: int = 5000,
    eps: float | None = None,
    min_samples: int = 20,
    price: str = "auto",
) -> pl.DataFrame:
    """Behavioural clusters of the customers, each described by what distinguishes it.

    Parameters
    ----------
    dataset : Dataset
        With times (and a price for the descriptions; else they count units).
    method : {'mixture', 'kmeans', 'agglomerative', 'dbscan'}
        See the module docstring.
    k : int, optional
        Number of clusters (mixture, kmeans, agglomerative); None picks it by silhouette in
        ``k_range`` (mixture: then splits each group in two when the split is clear).
    seed : int
        Seeds the sample and k-means: the same arguments give the same clusters.
    at, window_days
        The purchases clustered: those of the last ``window_days`` days up to ``at`` (default:
        all history up to the last timestamp).
    by : list of str, optional
        Catalogue columns whose purchase shares are clustered (default ``category``, else
        ``sport``, else the items; for ``"mixture"`` ``sport`` first).
    k_range, sample
        Candidates and sample size of the silhouette choice of k.
    eps, min_samples
        DBSCAN's neighbourhood radius (default: the median distance to the ``min_samples``-th
        neighbour) and density.
    price : {'auto', 'paid', 'catalog', 'units'}
        Prices of the descriptions' spend shares; ``"auto"`` counts units when there is none.

    Returns
    -------
    polars.DataFrame
        ``customer_id, cluster, description``, one row per customer; ``cluster`` is null (and
        the description says why) for customers without a purchase in the window, ``-1`` for
        DBSCAN's noise.

    Examples
    --------
    >>> from recokit.datasets import sports_shop
    >>> from recokit.customers import cluster
    >>> groups = cluster(sports_shop(400, seed=1), k=3)
    >>> groups.columns, groups.height, sorted(groups["cluster"].drop_nulls().unique())
    (['customer_id', 'cluster', 'description'], 400, [0, 1, 2])
    """
    ref = reference(dataset, at, window_days)
    price = _description_price(dataset, price)
    lines = purchase_lines(dataset, ref, price).filter(ref.in_window(pl.col("day")))
    columns = _by_columns(dataset, by, method)
    x, buyers = profile_matrix(dataset, lines, columns)[:2] if method == "mixture" else behaviour_matrix(dataset, lines, columns)
    _check(method, k, k_range, len(buyers), sample, min_samples)
    labels = _by_size(_cluster_labels(x, method, k, seed, k_range, sample, eps, min_samples))
    tagged = pl.DataFrame({"customer_idx": buyers, "cluster": labels})
    described = (["sport"] if "sport" in dataset.catalog.columns and "sport" not in columns else []) + columns
    described += ["category"] if "category" in dataset.catalog.columns and "category" not in described else []
    texts = _describe(dataset, lines, tagged, described, "spend" if price != "units" else "units bought")
    everyone = pl.DataFrame({"customer_idx": np.arange(dataset.n_customers), "customer_id": dataset.customer_ids.series})
    out = everyone.join(tagged, on="customer_idx", how="left", maintain_order="left")
    none = f"no purchase {ref.window_text}: not clustered"
    return out.select(
        "customer_id",
        "cluster",
        pl.col("cluster").replace_strict(texts, default=None, return_dtype=pl.String).fill_null(none).alias("description"),
    )
