"""The shop's whole pipeline in one TOML file: data columns, models, the hybrid, rules, fallback.

A pipeline file says what a shop deploys, so that the backend, the newsletter export and the
evaluation all build the same thing::

    [data]                        # the export's column names (recokit.Dataset's arguments)
    customer_col = "customer_id"
    item_col = "item_id"
    time_col = "ordered_at"
    basket_col = "order_id"

    [models.because]              # one table per model: its type and its parameters
    type = "ItemKNN"
    k_neighbours = 50

    [models.trending]
    type = "Popularity"
    half_life_days = 30

    [hybrid]                      # how the models combine (needed with two models or more)
    method = "blend"
    weights = { because = 2.0, trending = 1.0 }

    [rules]
    file = "sports_shop_rules.toml"   # relative to the pipeline file

    [fallback]                    # answers anonymous and no-consent requests
    type = "Popularity"
    half_life_days = 30

    [newsletter]
    consent_col = "consent_email"     # the customers-table column that allows e-mails

Everything is checked when the file is loaded -- TOML syntax, unknown sections and keys, model
types (only recokit's own models: nothing is imported by name from the file), every parameter
through the model's parameter spec, the hybrid's weights against the model names, the rules file
(parsed by :func:`recokit.load_rules`) -- and each problem is a :class:`~recokit.ConfigError`
naming the file and the section. Checks that need the catalogue (the rules' columns) run at fit.

Examples
--------
>>> import tempfile, pathlib
>>> from recokit.datasets import sports_shop
>>> path = pathlib.Path(tempfile.mkdtemp()) / "pipeline.toml"
>>> _ = path.write_text('''
... [models.together]
... type = "AssociationRules"
... [models.trending]
... type = "Popularity"
... [hybrid]
... weights = { together = 2.0, trending = 1.0 }
... ''')
>>> pipeline = load_pipeline(path)
>>> model = pipeline.build()
>>> type(model).__name__, sorted(model.models)
('Hybrid', ['together', 'trending'])
>>> shop = sports_shop(600, seed=0)
>>> len(model.fit(shop).recommend(customer_id=shop.customer_ids.id(0), k=3))
3
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import recokit.models as model_classes
from recokit._errors import ConfigError, RecokitError
from recokit.core import Recommender
from recokit.data import Dataset, read_text_file
from recokit.hybrid import Hybrid
from recokit.rules import Ruled, RuleSet, load_rules

__all__ = ["MODEL_TYPES", "Pipeline", "load_pipeline", "parse_pipeline"]

#: The model types a pipeline file may name (recokit's own models, nothing imported by name).
MODEL_TYPES: dict[str, type[Recommender]] = {name: getattr(model_classes, name) for name in model_classes.__all__}

#: The keys of ``[data]``: the keyword arguments of :class:`recokit.Dataset` a file may set.
DATA_KEYS = ("customer_col", "item_col", "time_col", "basket_col", "quantity_col", "event_col", "price_col", "event_weights", "unknown_items")

_SECTIONS = ("data", "models", "hybrid", "rules", "fallback", "newsletter")
_HYBRID_KEYS = ("method", "normalize", "weights", "depth", "rrf_k")


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline file. :meth:`build` makes a new, unfitted model each call.

    Attributes
    ----------
    source : str
        Where it was read from (the file, or ``"<string>"``).
    data : dict
        The ``[data]`` table: keyword arguments of :class:`recokit.Dataset`.
    models : dict name -> Recommender
        The ``[models.*]`` tables as unfitted models, in file order.
    hybrid : dict
        The ``[hybrid]`` table (Hybrid's parameters besides the models).
    rules : RuleSet or None
        The rules file's rules (``[rules] file``), parsed; checked against the catalogue at fit.
    rules_file : Path or None
    fallback : Recommender or None
    consent_col : str or None
        ``[newsletter] consent_col``: the customers-table column that allows e-mails.
    """

    source: str
    data: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Recommender] = field(default_factory=dict)
    hybrid: dict[str, Any] = field(default_factory=dict)
    rules: RuleSet | None = None
    rules_file: Path | None = None
    fallback: Recommender | None = None
    consent_col: str | None = None

    def build(self) -> Recommender:
        """The pipeline as one unfitted model: the model (or the hybrid of the models), wrapped
        in :class:`~recokit.Ruled` when there are rules or a fallback."""
        models = {name: m.clone() for name, m in self.models.items()}
        model: Recommender = next(iter(models.values())) if len(models) == 1 and not self.hybrid else Hybrid(models, **self.hybrid)
        fallback = self.fallback.clone() if self.fallback is not None else None
        if self.rules is None and fallback is None:
            return model
        rules = self.rules.clone() if self.rules is not None else RuleSet([])
        return Ruled(model, rules, fallback=fallback)

    def dataset(self, interactions: Any, catalog: Any = None, customers: Any = None) -> Dataset:
        """A :class:`~recokit.Dataset` of these frames with the file's column names."""
        return Dataset(interactions, catalog, customers, **self.data)

    def fit(self, interactions: Any, catalog: Any = None, customers: Any = None) -> Recommender:
        """``build()`` fitted on ``dataset(interactions, catalog, customers)`` (a Dataset is used as it is)."""
        ds = interactions if isinstance(interactions, Dataset) else self.dataset(interactions, catalog, customers)
        return self.build().fit(ds)


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and validate a pipeline TOML file (see the module docs for its layout).

    Raises :class:`~recokit.ConfigError` naming the file and the section on any problem; a rules
    file's own problems are :class:`~recokit.RuleError` naming the rule.
    """
    p = Path(path)
    text = read_text_file(p, "pipeline file", ConfigError)
    return parse_pipeline(text, source=str(p), base=p.parent)


def parse_pipeline(text: str, *, source: str = "<string>", base: str | Path | None = None) -> Pipeline:
    """:func:`load_pipeline` from TOML text; a rules file is read relative to ``base``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}.", hint="see https://toml.io for the syntax.") from None
    _only(doc, _SECTIONS, source, "the file")
    data = _data(doc.get("data", {}), source)
    models = _models(doc.get("models", {}), source)
    hybrid = _hybrid(doc.get("hybrid"), models, source)
    rules, rules_file = _rules(doc.get("rules"), source, Path(base) if base is not None else Path.cwd())
    fallback = _model(doc["fallback"], "[fallback]", source) if "fallback" in doc else None
    newsletter = _table(doc.get("newsletter", {}), "[newsletter]", source)
    _only(newsletter, ("consent_col",), source, "[newsletter]")
    consent = newsletter.get("consent_col")
    if consent is not None and not isinstance(consent, str):
        raise ConfigError(f"{source}: [newsletter] consent_col must be a column name (text); got {consent!r}.")
    return Pipeline(source, data, models, hybrid, rules, rules_file, fallback, consent)


def _table(value: Any, where: str, source: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: {where} must be a table; got {type(value).__name__} {value!r}.", hint=f"write it as a section: {where} followed by key = value lines.")
    return dict(value)


def _only(table: Mapping[str, Any], allowed: tuple[str, ...], source: str, where: str) -> None:
    unknown = [k for k in table if k not in allowed]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}."
        raise ConfigError(f"{source}: {where}: unknown key {key!r}.", hint=hint)


def _data(value: Any, source: str) -> dict[str, Any]:
    data = _table(value, "[data]", source)
    _only(data, DATA_KEYS, source, "[data]")
    for key, v in data.items():
        if key == "event_weights":
            if not isinstance(v, Mapping) or not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in v.values()):
                raise ConfigError(f"{source}: [data] event_weights must be a table of event = number; got {v!r}.")
        elif not isinstance(v, str):
            raise ConfigError(f"{source}: [data] {key} must be text (a column name); got {v!r}.")
    return data


def _models(value: Any, source: str) -> dict[str, Recommender]:
    tables = _table(value, "[models]", source)
    if not tables:
        raise ConfigError(f"{source}: no model: the file needs at least one [models.NAME] table.", hint='e.g. [models.trending] with type = "Popularity".')
    return {str(name): _model(spec, f"[models.{name}]", source) for name, spec in tables.items()}


def _model(value: Any, where: str, source: str) -> Recommender:
    spec = _table(value, where, source)
    kind = spec.pop("type", None)
    if kind is None:
        raise ConfigError(f"{source}: {where} has no type.", hint=f"add type = one of {', '.join(sorted(MODEL_TYPES))}.")
    cls = MODEL_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        close = difflib.get_close_matches(str(kind), list(MODEL_TYPES), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"choose one of {', '.join(sorted(MODEL_TYPES))}."
        raise ConfigError(f"{source}: {where}: unknown model type {kind!r}.", hint=hint)
    _only(spec, tuple(cls.param_names()), source, f"{where} ({kind})")
    try:
        return cls(**spec)
    except RecokitError as exc:
        raise ConfigError(f"{source}: {where}: {exc}") from None


def _hybrid(value: Any, models: dict[str, Recommender], source: str) -> dict[str, Any]:
    if value is None:
        if len(models) > 1:
            raise ConfigError(f"{source}: {len(models)} models but no [hybrid] table to say how they combine.", hint='add [hybrid] (method = "blend" by default).')
        return {}
    hybrid = _table(value, "[hybrid]", source)
    _only(hybrid, _HYBRID_KEYS, source, "[hybrid]")
    weights = hybrid.get("weights")
    if weights is not None:
        if not isinstance(weights, Mapping):
            raise ConfigError(f"{source}: [hybrid] weights must be a table of model name = weight; got {weights!r}.")
        missing = [n for n in weights if n not in models]
        if missing:
            raise ConfigError(f"{source}: [hybrid] weights name the model {missing[0]!r}, which has no [models.{missing[0]}] table.", hint=f"the models are {', '.join(models)}.")
        hybrid["weights"] = {n: weights.get(n, 1.0) for n in models}
    try:
        Hybrid(dict(models), **hybrid)
    except RecokitError as exc:
        raise ConfigError(f"{source}: [hybrid]: {exc}") from None
    return hybrid


def _rules(value: Any, source: str, base: Path) -> tuple[RuleSet | None, Path | None]:
    if value is None:
        return None, None
    table = _table(value, "[rules]", source)
    _only(table, ("file",), source, "[rules]")
    file = table.get("file")
    if not isinstance(file, str):
        raise ConfigError(f"{source}: [rules] needs file = the path of a TOML rules file; got {file!r}.")
    path = Path(file) if Path(file).is_absolute() else base / file
    return load_rules(path), path
