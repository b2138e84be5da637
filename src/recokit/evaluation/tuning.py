"""Choose a model's settings on a validation split carved from the training data only.

:func:`tune` never reads the test split: it carves a validation split out of ``split.train`` with
the same protocol (a temporal cut-off inside the training period, each customer's last training
basket, a random hold-out or the last training baskets for completion), fits every candidate
configuration on the validation split's own training part and scores it there. The test split is
what the chosen configuration is judged on afterwards, once.

Examples
--------
>>> from recokit import ItemKNN
>>> from recokit.datasets import sports_shop
>>> from recokit.evaluation import temporal_split, tune
>>> split = temporal_split(sports_shop(300, seed=1))
>>> result = tune(ItemKNN(), split, grid={"shrinkage": [0.0, 10.0], "k_neighbours": [20, 100]})
>>> result.table.height, result.table.columns[:3]  # the 4 of the grid and ItemKNN's own settings
(5, ['rank', 'shrinkage', 'k_neighbours'])
>>> result.best.get_params()["shrinkage"] in (0.0, 10.0)
True
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from recokit._errors import ConfigError, DataError, DataWarning
from recokit.core import Recommender
from recokit.evaluation import metrics as M
from recokit.evaluation.evaluate import evaluate
from recokit.evaluation.split import (
    Split,
    SplitReport,
    basket_completion_split,
    leave_last_basket_out,
    random_holdout,
    temporal_split,
)

__all__ = ["DEFAULT_GRIDS", "TuneResult", "tune", "validation_split"]

#: The search space :func:`tune` uses when no ``grid`` is given, per model class: a few values
#: per setting around the documented defaults (the defaults are always tried too). A Hybrid's
#: default space is its blend weights (each component x 0, 0.5, 1 or 2).
DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "Popularity": {"window_days": [None, 30.0, 90.0, 365.0]},
    "ItemKNN": {"similarity": ["cosine", "bm25"], "k_neighbours": [20, 100], "shrinkage": [0.0, 10.0, 50.0]},
    "AssociationRules": {"min_support": [2, 5, 10], "min_confidence": [0.05, 0.1, 0.2], "metric": ["confidence", "lift"]},
    "ContentBased": {"half_life_days": [None, 30.0, 180.0]},
    "BuyAgain": {"half_life_days": [None, 30.0, 90.0, 365.0], "propensity": [True, False]},
    "Renewal": {"early": [0.6, 0.8, 0.9], "late": [1.5, 2.5, 4.0]},
    "ALS": {"factors": [8, 16, 32, 64], "regularization": [0.01, 0.1], "alpha": [1.0, 10.0, 40.0]},
    "BPR": {"factors": [32, 64], "learning_rate": [0.01, 0.05], "regularization": [0.001, 0.01]},
}

#: the multipliers of each component's weight in a Hybrid's default search space
HYBRID_WEIGHTS: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
#: configurations tried when the search space is larger and no budget is given
DEFAULT_BUDGET = 30


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` found.

    Attributes
    ----------
    best : Recommender
        A new, unfitted model with the best settings: fit it on ``split.train`` and evaluate it
        on the test split.
    best_params : dict
        The searched settings of the best configuration (grid keys to values).
    score : float
        Its validation ``metric``.
    metric : str
        What was maximised, e.g. ``"ndcg@10"``.
    table : polars.DataFrame
        One row per configuration tried: ``rank`` (1 = best), one column per grid key (values
        that are not numbers, strings or booleans as their ``repr``), ``metric`` and
        ``fit_seconds`` and ``note`` (why a configuration could not be fitted on this data, e.g.
        a time window without timestamps: its metric is null and a DataWarning says how many);
        best first, ties in the order tried (the model's own settings first).
    validation : SplitReport
        What the validation split (carved from the training data) held.
    """

    best: Recommender
    best_params: dict[str, Any]
    score: float
    metric: str
    table: pl.DataFrame
    validation: SplitReport


def _parse_metric(metric: Any) -> tuple[str, int]:
    names = ", ".join(f"'{m}@10'" for m in M.ACCURACY_METRICS)
    if not isinstance(metric, str) or metric.count("@") != 1:
        raise ConfigError(f"The 'metric' parameter of tune must look like 'ndcg@10'. Got {metric!r} instead.", hint=f"one of {names} (any k >= 1).")
    name, _, k = metric.partition("@")
    if name not in M.ACCURACY_METRICS or not k.isdigit() or int(k) < 1:
        raise ConfigError(f"The 'metric' parameter of tune names an unknown metric or cut-off: {metric!r}.", hint=f"one of {names} (any k >= 1).")
    return name, int(k)


def validation_split(split: Split, *, fraction: float = 0.2, seed: int = 0) -> Split:
    """A split of ``split.train`` alone by the protocol ``split`` was made with (its report's
    ``protocol`` and ``repeat``); ``split.test`` is never read.

    ``fraction`` is the validation share for the temporal, random and basket-completion protocols
    (each customer's last training basket for the last-basket protocol).
    """
    if not isinstance(split, Split):
        raise ConfigError(f"tune needs a recokit.evaluation.Split (from temporal_split and friends). Got {type(split).__name__}.")
    report = split.report
    train = split.train
    protocol = report.protocol
    repeat: Any = report.repeat
    if protocol == "temporal":
        return temporal_split(train, test_fraction=fraction, repeat=repeat)
    if protocol == "last_basket":
        return leave_last_basket_out(train, repeat=repeat)
    if protocol == "random":
        return random_holdout(train, test_fraction=fraction, seed=seed, repeat=repeat)
    if protocol == "basket_completion":
        return basket_completion_split(train, test_fraction=fraction, seed=seed)
    raise ConfigError(f"tune does not know how to carve a validation split for the {protocol!r} protocol.")


def _component_names(model: Recommender) -> dict[str, Any]:
    """A Hybrid's component names (as its weights name them) -> the key of its ``models``."""
    models = model.get_params()["models"]
    if isinstance(models, Mapping):
        return {str(n): n for n in models}
    return {f"{type(m).__name__}#{i}": i for i, m in enumerate(models)}


def _default_grid(model: Recommender) -> dict[str, list[Any]]:
    name = type(model).__name__
    if _is_hybrid(model):
        base = _own_weights(model)
        names = list(base)
        grid = [{n: base[n] * f for n, f in zip(names, fs, strict=True)} for fs in itertools.product(HYBRID_WEIGHTS, repeat=len(names))]
        return {"weights": [w for w in grid if any(v > 0 for v in w.values())]}
    if name not in DEFAULT_GRIDS:
        raise ConfigError(
            f"tune has no default search space for {name}.", hint="pass grid={'<parameter>': [values, ...]} (see tune's docstring for nested keys such as 'itemknn__shrinkage')."
        )
    return DEFAULT_GRIDS[name]


def _check_grid(model: Recommender, grid: Any) -> dict[str, list[Any]]:
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError(f"The 'grid' parameter of tune must be a non-empty mapping of parameter -> list of values. Got {grid!r} instead.")
    out: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if not isinstance(key, str):
            raise ConfigError(f"tune grid keys must be parameter names (str). Got {key!r}.")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ConfigError(f"tune grid[{key!r}] must be a non-empty list of values. Got {values!r} instead.")
        out[key] = list(values)
    for key in out:  # every key reaches a parameter (unknown ones fail here, before any fit)
        _configured(model, {key: out[key][0]})
    return out


def _configured(model: Recommender, params: Mapping[str, Any]) -> Recommender:
    """A clone of ``model`` with ``params`` set; ``a__b`` sets ``b`` on the component (Hybrid) or
    the wrapped model (Ruled's ``model``, ``fallback``) called ``a``."""
    out = model.clone()
    own = {k: v for k, v in params.items() if "__" not in k}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        if "__" in key:
            head, _, rest = key.partition("__")
            nested.setdefault(head, {})[rest] = value
    current = out.get_params()
    slots = _component_names(out) if _is_hybrid(out) else {}
    models: Any = None
    for head, sub in nested.items():
        if isinstance(current.get(head), Recommender):
            own[head] = _configured(current[head], sub)
        elif head in slots:
            if models is None:
                models = dict(current["models"]) if isinstance(current["models"], Mapping) else list(current["models"])
            models[slots[head]] = _configured(models[slots[head]], sub)
        else:
            raise ConfigError(f"tune grid key '{head}__...' names no component or wrapped model of {type(out).__name__}.", hint=f"its parameters are {sorted(current)}" + (f", its components {sorted(slots)}." if slots else "."))
    if models is not None:
        own["models"] = models
    out.set_params(**own)
    return out


def _is_hybrid(model: Recommender) -> bool:
    return type(model).__name__ == "Hybrid" and "models" in model.get_params()


def _own_weights(model: Recommender) -> dict[str, float]:
    """A Hybrid's blend weights as ``{component name: weight}`` (1 each when not given)."""
    names = list(_component_names(model))
    weights = model.get_params().get("weights")
    base = dict.fromkeys(names, 1.0)
    if isinstance(weights, Mapping):
        base.update({str(k): float(v) for k, v in weights.items()})
    elif weights is not None:
        base = {n: float(w) for n, w in zip(names, weights, strict=True)}
    return base


def _configurations(grid: dict[str, list[Any]], budget: int | None, seed: int) -> list[dict[str, Any]]:
    keys = list(grid)
    size = math.prod(len(v) for v in grid.values())
    limit = min(size, DEFAULT_BUDGET) if budget is None else budget
    if limit >= size:
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(size, size=limit, replace=False))
    dims = [len(grid[k]) for k in keys]
    out = []
    for flat in chosen.tolist():
        idx = np.unravel_index(flat, dims)
        out.append({k: grid[k][int(i)] for k, i in zip(keys, idx, strict=True)})
    return out


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)


def tune(
    model: Recommender,
    split: Split,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    budget: int | None = None,
    metric: str = "ndcg@10",
    seed: int = 0,
    validation_fraction: float = 0.2,
) -> TuneResult:
    """Search ``model``'s settings on a validation split carved from ``split.train`` only.

    Parameters
    ----------
    model : Recommender
        Any model, a :class:`~recokit.Hybrid` (its blend weights are searched by default) or a
        :class:`~recokit.rules.Ruled`. It is not changed: every candidate is a clone.
    split : Split
        The evaluation split. Only ``split.train`` and the protocol named in ``split.report`` are
        read; the test split is never looked at (tested).
    grid : mapping parameter -> list of values, optional
        The search space. Keys are parameter names; ``name__param`` reaches into a Hybrid's
        component called ``name`` (its weights' name, e.g. ``"itemknn__shrinkage"``) or a
        wrapped model (``"model__weights"`` for a Ruled hybrid). Default:
        :data:`DEFAULT_GRIDS` for the model's class; for a Hybrid, every component weight x 0,
        0.5, 1 or 2.
    budget : int, optional
        How many configurations to try: a seeded random sample of the grid when it is larger
        (default: the whole grid up to 30 configurations, else 30). The model's own settings
        are always tried as well, so tuning never picks something worse on validation than
        what it was given.
    metric : str
        ``"<metric>@<k>"``, one of precision, recall, hit_rate, ndcg, map, mrr (default
        ``"ndcg@10"``), maximised.
    seed : int
        Seeds the random validation protocols and the sampling of the grid.
    validation_fraction : float
        The validation share of the training data (temporal, random and basket completion).

    Returns
    -------
    TuneResult
        The best configuration as a new unfitted model, its settings and score, and the table.

    Raises
    ------
    ConfigError
        An unknown parameter or component in ``grid`` (before anything is fitted), a value a
        parameter refuses, an unknown metric, or a budget < 1.
    """
    name, k = _parse_metric(metric)
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1):
        raise ConfigError(f"The 'budget' parameter of tune must be an int >= 1 or None. Got {budget!r} instead.")
    if not isinstance(model, Recommender):
        raise ConfigError(f"tune needs a recokit Recommender. Got {type(model).__name__}.")
    space = _check_grid(model, _default_grid(model) if grid is None else grid)
    val = validation_split(split, fraction=validation_fraction, seed=seed)
    own = {key: _current(model, key) for key in space}
    configs = [own] + [c for c in _configurations(space, None if budget is None else int(budget) - 1, seed) if c != own]
    rows = []
    for i, params in enumerate(configs):
        candidate = _configured(model, params)
        t0 = time.perf_counter()
        score, note = _score(candidate, val, name, k)
        rows.append({**{key: _cell(v) for key, v in params.items()}, metric: score, "fit_seconds": time.perf_counter() - t0, "note": note, "_order": i})
    failed = [r for r in rows if r[metric] is None]
    if len(failed) == len(rows):
        raise ConfigError(f"tune: no configuration of {type(model).__name__} could be fitted on the validation split; the first said: {failed[0]['note']}")
    if failed:
        warnings.warn(
            f"tune: {len(failed)} of {len(rows)} configurations of {type(model).__name__} could not be fitted on this data and were left out "
            f"(see the table's 'note' column; the first: {failed[0]['note']})",
            DataWarning,
            stacklevel=2,
        )
    frame = pl.DataFrame(rows, infer_schema_length=None).sort([metric, "_order"], descending=[True, False], nulls_last=True)
    best_i = int(frame["_order"][0])
    frame = frame.drop("_order").with_row_index("rank", offset=1).with_columns(pl.col("rank").cast(pl.Int64))
    best = configs[best_i]
    return TuneResult(_configured(model, best), dict(best), float(frame[metric][0]), metric, frame, val.report)


def _score(candidate: Recommender, val: Split, name: str, k: int) -> tuple[float | None, str | None]:
    """A configuration's validation metric, or None and why when it cannot fit this data (a time
    window on data without timestamps): such a configuration is left out, not the whole search."""
    try:
        table = evaluate({"candidate": candidate}, val, k=[k], n_boot=0, latency_queries=0, progress=False)
    except (ConfigError, DataError) as exc:
        return None, str(exc).splitlines()[0]
    return float(table[name][0]), None


def _current(model: Recommender, key: str) -> Any:
    """The model's own value of a grid key (nested keys followed into components; a Hybrid's
    weights as a ``{name: weight}`` mapping, as its default grid writes them)."""
    params = model.get_params()
    head, _, rest = key.partition("__")
    if not rest:
        return _own_weights(model) if head == "weights" and _is_hybrid(model) else params.get(head)
    if isinstance(params.get(head), Recommender):
        return _current(params[head], rest)
    slots = _component_names(model) if _is_hybrid(model) else {}
    return _current(params["models"][slots[head]], rest) if head in slots else None
