"""Fit models on a split's training data, rank for every case, and score the lists.

:func:`evaluate` returns one polars row per model and k with every metric, a seeded bootstrap 95%
confidence interval over cases for the accuracy metrics, the fit time and the single-request
latency. :func:`paired_test` says whether one model's per-case NDCG beats another's, with a
p-value. :func:`to_markdown` prints the table.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import polars as pl

from recokit._errors import ConfigError, DataError
from recokit.core import Query, Recommender
from recokit.evaluation import metrics as M
from recokit.evaluation.split import Split

__all__ = ["evaluate", "paired_test", "rank_cases", "to_markdown"]


def _check_k(k: int | Sequence[int], fn: str = "evaluate") -> tuple[int, ...]:
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
        ks: tuple[Any, ...] = (k,)
    elif isinstance(k, Sequence | np.ndarray) and not isinstance(k, str):
        ks = tuple(k)
    else:
        ks = ()
    if not ks or any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1 for x in ks):
        raise ConfigError(f"The 'k' parameter of {fn} must be an int >= 1 or a list of them. Got {k!r} instead.")
    return tuple(sorted({int(x) for x in ks}))


def _check_single_k(k: Any, fn: str) -> tuple[int]:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"The 'k' parameter of {fn} must be one int >= 1. Got {k!r} instead.")
    return (int(k),)


def _check_split(split: Any) -> None:
    if not isinstance(split, Split):
        raise ConfigError(
            f"expected a recokit.evaluation.Split; got {type(split).__name__}.", hint="make one with temporal_split(dataset), leave_last_basket_out(...), ..."
        )
    if split.cases.height == 0:
        raise ConfigError(f"the split has no evaluation case: {split.report}.", hint="use a larger test share or another protocol.")


def _fit_or_check(model: Recommender, split: Split, name: str, fit: bool) -> float | None:
    """With ``fit``, fit ``model`` on the split's training data and return the seconds it took;
    else check it is fitted on that data (:func:`_ensure_fitted`) and return None."""
    if not fit:
        _ensure_fitted(model, split, name)
        return None
    t0 = time.perf_counter()
    model.fit(split.train)
    return time.perf_counter() - t0


def _ensure_fitted(model: Recommender, split: Split, name: str) -> None:
    """Fit an unfitted model on ``split.train``; refuse one fitted on other data (leak guard)."""
    if not model.is_fitted:
        model.fit(split.train)
    elif model.dataset_ is not split.train:
        raise ConfigError(
            f"model {name!r} is fitted on another dataset than this split's training data: its scores could leak the test.", hint="fit it on split.train, or let evaluate fit it (fit=True)."
        )


def _case_query(split: Split, row: int, k: int) -> Query:
    cases = split.cases
    cid = cases["customer_id"][row]
    return Query(
        customer_id=cid,
        items=cases["items"][row].to_list(),
        k=k,
        now=split.now,
        exclude_purchased=split.exclude_purchased and cid is not None,
    )


def rank_cases(model: Recommender, split: Split, k: int, *, progress: bool = False, name: str | None = None) -> np.ndarray:
    """The top-``k`` item indices of every case (``n_cases x k``, ``-1`` pads a short list).

    Customer cases without context items go through the batch path
    (``recommend_many(..., reasons=False)``); cases with context items (basket completion) go one
    ``recommend(Query(items=...))`` at a time.
    """
    (k,) = _check_single_k(k, "rank_cases")
    _check_split(split)
    _check_models({name or "model": model})
    ds = split.train
    cases = split.cases
    n = cases.height
    out = np.full((n, k), -1, dtype=np.int64)
    n_ctx = cases["items"].list.len().to_numpy()
    cust = cases["customer_id"]
    batch_rows = np.flatnonzero((n_ctx == 0) & cust.is_not_null().to_numpy())
    if len(batch_rows):
        ids = cust.gather(batch_rows).to_list()
        step = 1024
        bar = _bar(len(batch_rows), f"rank {name or type(model).__name__}", progress)
        for start in range(0, len(ids), step):
            chunk = ids[start : start + step]
            frame = model.recommend_many(chunk, k=k, exclude_purchased=split.exclude_purchased, now=split.now, reasons=False)
            pos = {c: j for j, c in enumerate(chunk)}
            rows = batch_rows[start + np.fromiter((pos[c] for c in frame["customer_id"].to_list()), dtype=np.int64, count=frame.height)]
            out[rows, frame["rank"].to_numpy() - 1] = ds.item_ids.index(frame["item_id"].to_list())
            bar.update(len(chunk))
        bar.close()
    rest = np.setdiff1d(np.arange(n), batch_rows)
    bar = _bar(len(rest), f"rank {name or type(model).__name__}", progress and len(rest) > 0)
    for r in rest.tolist():
        recs = model.recommend(_case_query(split, r, k))
        idx = ds.item_ids.index(recs.item_ids)
        out[r, : len(idx)] = idx
        bar.update(1)
    bar.close()
    return out


class _Progress(Protocol):
    def update(self, n: int) -> object: ...

    def close(self) -> None: ...


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, enabled: bool) -> _Progress:
    if not enabled or total == 0:
        return _NoBar()
    from tqdm.auto import tqdm

    # disable=None: tqdm stays quiet when stderr is not a terminal (logs, CI, pipes, tests)
    return tqdm(total=total, desc=desc, leave=False, disable=None)


def _relevant(split: Split) -> list[np.ndarray]:
    idx = split.train.item_ids
    return [idx.index(r) for r in split.cases["relevant"].to_list()]


_BOOT_CELLS = 4_000_000  # resample weights held in memory at once (n_boot x n_cases), ~32 MB


def _bootstrap(values: np.ndarray, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile 95% interval of the mean of each column of ``values`` (``n_cases x m``).

    Resample b draws the cases with replacement (multinomial counts). The draws depend only on
    ``seed`` and ``n_cases``, so every model and metric of one evaluation is resampled on the same
    draws (a paired comparison of their intervals); they are generated in chunks so memory stays
    bounded for any number of cases.
    """
    n, m = values.shape
    if n_boot == 0 or n < 2:
        return np.full(m, np.nan), np.full(m, np.nan)
    rng = np.random.default_rng(seed)
    means = np.empty((n_boot, m))
    step = max(1, _BOOT_CELLS // n)
    p = np.full(n, 1.0 / n)
    for start in range(0, n_boot, step):
        rows = min(step, n_boot - start)
        counts = rng.multinomial(n, p, size=rows).astype(np.float64)
        means[start : start + rows] = counts @ values / n
    lo, hi = np.quantile(means, [0.025, 0.975], axis=0)
    return lo, hi


def _latency(model: Recommender, split: Split, k: int, n: int, seed: int) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    rows = rng.choice(split.cases.height, size=min(n, split.cases.height), replace=False)
    times = np.empty(len(rows))
    for j, r in enumerate(rows.tolist()):
        q = _case_query(split, r, k)
        t0 = time.perf_counter()
        model.recommend(q)
        times[j] = time.perf_counter() - t0
    p50, p99 = np.quantile(times, [0.5, 0.99]) * 1000.0
    return float(p50), float(p99)


def _features(split: Split, diversity_by: str | np.ndarray | None) -> np.ndarray | None:
    cat = split.train.catalog
    if diversity_by is None:
        diversity_by = "category" if "category" in cat.columns else None
        if diversity_by is None:
            return None
    if isinstance(diversity_by, str):
        if diversity_by not in cat.columns:
            raise ConfigError(f"diversity_by={diversity_by!r}: the catalog has no such column.", hint=f"choose one of {cat.columns}.")
        codes = cat[diversity_by].cast(pl.String).fill_null("(none)")
        return codes.rank("dense").to_numpy().astype(np.int64)
    try:
        feats = np.asarray(diversity_by, dtype=np.float64)
    except (TypeError, ValueError):
        feats = np.empty(0)
    if feats.ndim != 2 or feats.shape[0] != split.train.n_items:
        raise ConfigError(
            f"diversity_by must be a catalogue column name or an (n_items x d) array of content vectors; got shape {feats.shape}."
        )
    return feats


def evaluate(
    models: Mapping[str, Recommender],
    split: Split,
    k: int | Sequence[int] = (5, 10, 20),
    *,
    fit: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    latency_queries: int = 200,
    diversity_by: str | np.ndarray | None = None,
    price_col: str | None = "price",
    rules: Any = None,
    progress: bool = True,
) -> pl.DataFrame:
    """Evaluate several models on one split; one row per model and k.

    Parameters
    ----------
    models : mapping name -> Recommender
        Unfitted models are fitted on ``split.train`` (timed). A model already fitted must have
        been fitted on ``split.train`` itself, else :class:`~recokit.ConfigError` (leak guard).
    split : Split
        From :func:`~recokit.evaluation.temporal_split` and friends.
    k : int or list of int
        Cut-offs (default 5, 10, 20). The lists are ranked once at ``max(k)`` and truncated.
    fit : bool
        Refit every model on ``split.train`` (default). With False, models must already be fitted
        on it and ``fit_seconds`` is null.
    n_boot : int
        Bootstrap resamples of the cases for the 95% intervals (0 = none). Seeded by ``seed``.
    latency_queries : int
        How many single ``recommend`` requests to time per model (p50 / p99 in milliseconds).
    diversity_by : str or array, optional
        A catalogue column (default ``"category"`` when present) or ``n_items x d`` content vectors.
    price_col : str, optional
        Catalogue column of prices for ``revenue`` (null when absent).
    rules : optional
        Any object with ``violations(query, item_ids) -> list[(item_id, rule_name)]``; each list
        is checked and ``rule_violations`` counts the pairs (it must be 0). Null when not given.
    progress : bool
        Show tqdm progress bars on stderr (only when it is a terminal; False: never).

    Returns
    -------
    polars.DataFrame
        Columns ``model, k, n_cases``, each accuracy metric with ``_lo``/``_hi`` bounds, then
        ``coverage, diversity, novelty, popularity, rule_violations, revenue, revenue_share,
        fit_seconds, latency_p50_ms, latency_p99_ms``.

    Examples
    --------
    >>> from recokit import Popularity
    >>> from recokit.datasets import sports_shop
    >>> from recokit.evaluation import evaluate, temporal_split
    >>> split = temporal_split(sports_shop(400, seed=2))
    >>> table = evaluate({"popular": Popularity()}, split, k=[5, 10], n_boot=100, progress=False)
    >>> table.select("model", "k").rows()
    [('popular', 5), ('popular', 10)]
    >>> bool((table["ndcg_lo"] <= table["ndcg"]).all() and (table["ndcg"] <= table["ndcg_hi"]).all())
    True
    """
    ks = _check_k(k)
    _check_split(split)
    _check_models(models)
    _check_count(n_boot, "n_boot", "evaluate")
    _check_count(seed, "seed", "evaluate")
    _check_count(latency_queries, "latency_queries", "evaluate")
    ctx = _Context.of(split, diversity_by, price_col)
    rows: list[dict[str, Any]] = []
    for name, model in models.items():
        fit_s = _fit_or_check(model, split, name, fit)
        recs = rank_cases(model, split, max(ks), progress=progress, name=name)
        p50, p99 = _latency(model, split, min(ks), latency_queries, seed)
        extra = {"fit_seconds": fit_s, "latency_p50_ms": p50, "latency_p99_ms": p99}
        rows.extend(_model_rows(name, recs, ks, ctx, split, rules, n_boot, seed, extra))
    return pl.DataFrame(rows, schema=_result_schema(), orient="row")


def _check_models(models: Any) -> None:
    if not isinstance(models, Mapping) or not models:
        raise ConfigError("models must be a non-empty dict {name: Recommender}.")
    for name, model in models.items():
        if not isinstance(model, Recommender):
            raise ConfigError(f"models[{name!r}] must be a recokit.Recommender; got {type(model).__name__}.")


def _check_count(value: Any, name: str, fn: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"The '{name}' parameter of {fn} must be an int >= 0. Got {value!r} instead.")
    return int(value)


@dataclass(frozen=True)
class _Context:
    """What every model of one evaluation is scored against (computed once from the split)."""

    relevant: list[np.ndarray]
    n_rel: np.ndarray
    feats: np.ndarray | None
    p: np.ndarray
    share: np.ndarray
    prices: np.ndarray | None

    @classmethod
    def of(cls, split: Split, diversity_by: str | np.ndarray | None, price_col: str | None) -> _Context:
        train = split.train
        relevant = _relevant(split)
        counts = train.item_counts()
        n_train_customers = int((np.diff(train.user_items.indptr) > 0).sum())
        return cls(
            relevant=relevant,
            n_rel=np.array([len(r) for r in relevant], dtype=np.int64),
            feats=_features(split, diversity_by),
            p=M.item_probability(counts, n_train_customers),
            share=counts / max(n_train_customers, 1),
            prices=_prices(split, price_col),
        )


def _prices(split: Split, price_col: str | None) -> np.ndarray | None:
    if price_col is None:
        return None
    cat = split.train.catalog
    if not isinstance(price_col, str):
        raise ConfigError(f"The 'price_col' parameter of evaluate must be a catalogue column name or None. Got {price_col!r} instead.")
    if price_col not in cat.columns:
        return None
    if not cat[price_col].dtype.is_numeric():
        raise DataError(
            f"evaluate: the catalogue column {price_col!r} holds {cat[price_col].dtype}, not numbers, so no revenue can be computed.", hint="load prices as numbers, or pass price_col=None."
        )
    return cat[price_col].cast(pl.Float64).fill_null(0.0).to_numpy()


def _model_rows(
    name: str,
    recs: np.ndarray,
    ks: tuple[int, ...],
    ctx: _Context,
    split: Split,
    rules: Any,
    n_boot: int,
    seed: int,
    extra: dict[str, float | None],
) -> list[dict[str, Any]]:
    """One result row per k for one model's ranked lists ``recs`` (ranked at ``max(ks)``)."""
    n_items = split.train.n_items
    hits = M.hit_matrix(recs, ctx.relevant)
    accs = [M.accuracy(hits, ctx.n_rel, kk) for kk in ks]
    stacked = np.column_stack([acc[m] for acc in accs for m in M.ACCURACY_METRICS])
    lo, hi = _bootstrap(stacked, n_boot, seed)
    n_m = len(M.ACCURACY_METRICS)
    rows = []
    for j, (kk, acc) in enumerate(zip(ks, accs, strict=True)):
        top = recs[:, :kk]
        row: dict[str, Any] = {"model": name, "k": kk, "n_cases": len(top)}
        for i, m in enumerate(M.ACCURACY_METRICS):
            row[m] = float(acc[m].mean())
            row[f"{m}_lo"], row[f"{m}_hi"] = float(lo[j * n_m + i]), float(hi[j * n_m + i])
        row["coverage"] = M.catalog_coverage(top, n_items)
        row["diversity"] = M.intra_list_diversity(top, ctx.feats) if ctx.feats is not None else None
        row["novelty"] = M.novelty(top, ctx.p)
        row["popularity"] = M.average_popularity(top, ctx.share)
        row["rule_violations"] = _violations(rules, split, top) if rules is not None else None
        row["revenue"], row["revenue_share"] = _revenue(ctx, hits[:, :kk], top)
        row.update(extra)
        rows.append(row)
    return rows


def _revenue(ctx: _Context, hits: np.ndarray, top: np.ndarray) -> tuple[float | None, float | None]:
    """Price of the hit items, and its share of the price of every relevant item (None without prices)."""
    if ctx.prices is None:
        return None, None
    hit_items = np.where(hits, top, -1)
    captured = float(ctx.prices[hit_items[hit_items >= 0]].sum())
    total = float(sum(ctx.prices[r].sum() for r in ctx.relevant))
    return captured, (captured / total if total > 0 else None)


def _result_schema() -> dict[str, Any]:
    schema: dict[str, Any] = {"model": pl.String, "k": pl.Int64, "n_cases": pl.Int64}
    for m in M.ACCURACY_METRICS:
        schema.update({m: pl.Float64, f"{m}_lo": pl.Float64, f"{m}_hi": pl.Float64})
    schema.update(
        {
            "coverage": pl.Float64,
            "diversity": pl.Float64,
            "novelty": pl.Float64,
            "popularity": pl.Float64,
            "rule_violations": pl.Int64,
            "revenue": pl.Float64,
            "revenue_share": pl.Float64,
            "fit_seconds": pl.Float64,
            "latency_p50_ms": pl.Float64,
            "latency_p99_ms": pl.Float64,
        }
    )
    return schema


def _violations(rules: Any, split: Split, top: np.ndarray) -> int:
    check: Callable[..., Any] | None = getattr(rules, "violations", None)
    if not callable(check):
        raise ConfigError(
            f"rules must have a method violations(query, item_ids); got {type(rules).__name__}.", hint="pass a recokit rule set."
        )
    ids = split.train.item_ids
    total = 0
    for r in range(top.shape[0]):
        items = top[r][top[r] >= 0]
        q = _case_query(split, r, top.shape[1])
        total += len(list(check(q, ids.ids(items))))
    return total


def paired_test(
    model_a: Recommender,
    model_b: Recommender,
    split: Split,
    *,
    metric: str = "ndcg",
    k: int = 10,
    method: Literal["bootstrap", "t-test"] = "bootstrap",
    n_boot: int = 10_000,
    seed: int = 0,
) -> dict[str, float]:
    """Does model A beat model B? A paired test on the per-case metric.

    Unfitted models are fitted on ``split.train``. ``method="t-test"`` runs
    ``scipy.stats.ttest_rel``; ``"bootstrap"`` resamples cases (seeded) and reports the two-sided
    p-value ``2 * (min(#{diff* <= 0}, #{diff* >= 0}) + 1) / (n_boot + 1)``.

    Returns
    -------
    dict
        ``mean_a, mean_b, diff`` (A - B), ``diff_lo, diff_hi`` (95% bootstrap interval; NaN for the
        t-test), ``p_value`` and ``n`` cases.

    Examples
    --------
    >>> from recokit import Popularity
    >>> from recokit.datasets import sports_shop
    >>> from recokit.evaluation import paired_test, temporal_split
    >>> split = temporal_split(sports_shop(400, seed=2))
    >>> res = paired_test(Popularity(), Popularity(window_days=30), split, k=10, n_boot=500)
    >>> 0.0 <= res["p_value"] <= 1.0
    True
    """
    if not isinstance(metric, str) or metric not in M.ACCURACY_METRICS:
        raise ConfigError(f"The 'metric' parameter of paired_test must be one of {list(M.ACCURACY_METRICS)}. Got {metric!r} instead.")
    if not isinstance(method, str) or method not in ("bootstrap", "t-test"):
        raise ConfigError(f"The 'method' parameter of paired_test must be 'bootstrap' or 't-test'. Got {method!r} instead.")
    (kk,) = _check_single_k(k, "paired_test")
    _check_split(split)
    _check_models({"model_a": model_a, "model_b": model_b})
    _check_count(n_boot, "n_boot", "paired_test")
    _check_count(seed, "seed", "paired_test")
    if method == "bootstrap" and n_boot < 1:
        raise ConfigError("The 'n_boot' parameter of paired_test must be >= 1 with method='bootstrap'. Got 0 instead.")
    relevant = _relevant(split)
    n_rel = np.array([len(r) for r in relevant], dtype=np.int64)
    values = []
    for name, model in (("A", model_a), ("B", model_b)):
        _ensure_fitted(model, split, name)
        recs = rank_cases(model, split, kk)
        values.append(M.accuracy(M.hit_matrix(recs, relevant), n_rel, kk)[metric])
    a, b = values
    d = a - b
    out = {"mean_a": float(a.mean()), "mean_b": float(b.mean()), "diff": float(d.mean()), "n": float(len(d))}
    if method == "t-test":
        from scipy import stats

        if np.allclose(d, d[0]):
            p = 1.0 if d[0] == 0 else 0.0
        else:
            p = float(stats.ttest_rel(a, b).pvalue)
        out.update({"diff_lo": math.nan, "diff_hi": math.nan, "p_value": p})
        return out
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    step = max(1, 2_000_000 // max(len(d), 1))
    for s in range(0, n_boot, step):
        m = min(step, n_boot - s)
        means[s : s + m] = d[rng.integers(0, len(d), size=(m, len(d)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    # add-one so a bootstrap p-value is never exactly 0 (its resolution is 1 / (n_boot + 1))
    tail = min(int((means <= 0).sum()), int((means >= 0).sum()))
    p = min(1.0, 2.0 * (tail + 1) / (n_boot + 1))
    out.update({"diff_lo": float(lo), "diff_hi": float(hi), "p_value": p})
    return out


def _check_table(result: Any, metrics: Sequence[str], extra: Sequence[str], digits: Any) -> None:
    if not isinstance(result, pl.DataFrame) or not {"model", "k"} <= set(result.columns):
        raise ConfigError(f"to_markdown expects the table evaluate returns; got {type(result).__name__}.", hint="pass evaluate(...)'s result.")
    for name, names in (("metrics", metrics), ("extra", extra)):
        if isinstance(names, str) or not all(isinstance(m, str) for m in names):
            raise ConfigError(f"The '{name}' parameter of to_markdown must be a list of column names. Got {names!r} instead.")
    missing = [m for m in metrics if m not in result.columns]
    if missing:
        raise ConfigError(f"to_markdown: the table has no column {missing[0]!r}.", hint=f"choose metrics among {list(M.ACCURACY_METRICS)}.")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ConfigError(f"The 'digits' parameter of to_markdown must be an int >= 0. Got {digits!r} instead.")


def to_markdown(
    result: pl.DataFrame,
    metrics: Sequence[str] = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate"),
    extra: Sequence[str] = ("coverage", "diversity", "novelty", "fit_seconds", "latency_p50_ms", "latency_p99_ms"),
    digits: int = 3,
) -> str:
    """A markdown table of :func:`evaluate`'s result: ``value [lo, hi]`` per accuracy metric.

    Examples
    --------
    >>> import polars as pl
    >>> row = {"model": "m", "k": 10, "n_cases": 5, "ndcg": 0.5, "ndcg_lo": 0.4, "ndcg_hi": 0.6}
    >>> print(to_markdown(pl.DataFrame([row]), metrics=["ndcg"], extra=[]))
    | model | k | ndcg [95% CI] |
    |---|---:|---:|
    | m | 10 | 0.500 [0.400, 0.600] |
    """

    _check_table(result, metrics, extra, digits)

    def fmt(v: Any, d: int = digits) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        if isinstance(v, float):
            return f"{v:.{d}f}"
        return str(v)

    cols = [c for c in extra if c in result.columns]
    header = ["model", "k"] + [f"{m} [95% CI]" for m in metrics] + cols
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row in result.iter_rows(named=True):
        cells = [str(row["model"]), str(row["k"])]
        for m in metrics:
            lo, hi = row.get(f"{m}_lo"), row.get(f"{m}_hi")
            ci = f" [{fmt(lo)}, {fmt(hi)}]" if lo is not None and not (isinstance(lo, float) and math.isnan(lo)) else ""
            cells.append(fmt(row[m]) + ci)
        for c in cols:
            cells.append(fmt(row[c], 2 if c.endswith(("_ms", "_seconds")) else digits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
