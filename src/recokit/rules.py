"""Business rules: what the merchandiser decides after the model has scored.

The algorithm proposes, the merchandiser decides. A :class:`RuleSet` is an ordered list of named
rules; :class:`Ruled` wraps any :class:`~recokit.Recommender` (or hybrid) with it and is itself a
Recommender, so rules apply without knowing which model scored.

Two kinds of rules:

* **hard rules** are never violated, including in the back-filled part of a list:
  :class:`Filter`, :class:`ExcludeOwned`, :class:`OnePerGroup`, :class:`MaxPerGroup`
  (and :class:`RequireConsent`, which decides *how* a customer is scored);
* **soft rules** change the order: :class:`Boost`, :class:`Bury`, :class:`Pin`.

Conditions are SQL expressions over catalogue columns (``category = 'bike' AND age_group =
'child'``, ``stock > 0``), parsed once by polars (``pl.sql_expr``) when the rule is built and turned
into one boolean mask per rule when the rule set is fitted. Per request only numpy mask operations
run; nothing from a rules file is ever executed as code.

Order of a request in :meth:`Ruled.recommend`:

1. consent: a customer without consent is scored as an anonymous visitor with the same cart /
   product page (by ``fallback`` when given), and no rule looks at their history;
2. the model's scores; boosts and buries multiply them (sign-aware, NaN stays NaN);
3. the allowed mask: the query's exclusions AND every filter AND the per-customer rules
   (owned items, one-per-group triggered by the history or the cart);
4. pins take their positions first (if allowed), then the list is filled greedily from the best
   allowed candidates, skipping any item that would break a list limit (one-per-group within the
   list, max-per-group); when the model runs out of scored candidates the list is back-filled with
   the shop's best sellers under the same hard rules.

Examples
--------
>>> import polars as pl
>>> from recokit import Dataset, Popularity, Query
>>> from recokit.rules import Boost, Filter, MaxPerGroup, Ruled, RuleSet
>>> catalog = pl.DataFrame({
...     "item_id": ["tent", "tent2", "stove", "mat"],
...     "category": ["tent", "tent", "stove", "mat"],
...     "stock": [3, 0, 5, 2],
...     "eco_label": [False, False, True, False],
... })
>>> orders = pl.DataFrame({"customer_id": [1, 2, 2, 3, 3, 3], "item_id": ["tent", "tent", "tent2", "tent2", "stove", "mat"]})
>>> rules = RuleSet([
...     Filter("stock > 0", name="in stock only"),
...     MaxPerGroup("category", 1, name="one per category"),
...     Boost("eco_label", 3.0, name="eco up"),
... ])
>>> model = Ruled(Popularity(), rules).fit(Dataset(orders, catalog))
>>> recs = model.recommend(Query(k=3))
>>> recs.item_ids
['stove', 'tent', 'mat']
>>> recs[0].rules
('boost:eco up',)
>>> model.why_not(Query(k=3), "tent2")
"removed by rule 'in stock only' (filter): it does not satisfy stock > 0"
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tomllib
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TextIO

import numpy as np
import polars as pl

from recokit._errors import ConfigError, NotFittedError, RuleError, _hint
from recokit.base import (
    BACKFILL_REASON,
    Context,
    Query,
    Recommendation,
    Recommendations,
    Recommender,
    top_k,
)
from recokit.data import DAY_US as _DAY_US
from recokit.data import Dataset, group_codes, normalise_ids, to_frame

__all__ = [
    "Boost",
    "Bury",
    "ExcludeOwned",
    "Filter",
    "MaxPerGroup",
    "OnePerGroup",
    "Pin",
    "RequireConsent",
    "Rule",
    "RuleSet",
    "Ruled",
    "check_file",
    "load_rules",
    "parse_rules",
]

#: Reason shown for a pinned item on which the model has no opinion.
PINNED_REASON = "featured by the shop"


# --------------------------------------------------------------------------------------------
# value checks (every message names the rule)
# --------------------------------------------------------------------------------------------
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_text(rule: Rule, field: str, value: Any, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise RuleError(
            _hint(
                f"rule {rule.name!r} ({rule.kind}): '{field}' must be a non-empty string. Got {value!r} instead.",
                f"write it as text, e.g. {field} = \"category = 'bike'\".",
            )
        )


def _days(rule: Rule, field: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        value = value.total_seconds() / 86_400
    if not _is_number(value) or value <= 0:
        raise RuleError(f"rule {rule.name!r} ({rule.kind}): '{field}' must be a number of days > 0. Got {value!r} instead.")
    return float(value)


def _parse_condition(rule: Rule, field: str, text: str | None) -> pl.Expr | None:
    """Parse once, when the rule is built: a syntax error surfaces at load time, never per request."""
    if text is None:
        return None
    try:
        return pl.sql_expr(text)
    except Exception as exc:  # polars raises several SQL error types
        raise RuleError(
            _hint(
                f"rule {rule.name!r} ({rule.kind}): {field} = {text!r} does not parse as an SQL condition: {exc}",
                "write a condition over catalogue columns, e.g. \"category = 'bike' AND stock > 0\".",
            )
        ) from None


def _evaluate(rule: Rule, field: str, catalog: pl.DataFrame) -> np.ndarray:
    """The rule's condition as a boolean item mask over ``catalog`` (null -> does not match)."""
    expr: pl.Expr = rule._exprs[field]
    text = getattr(rule, field)
    missing = [c for c in expr.meta.root_names() if c not in catalog.columns]
    if missing:
        raise RuleError(
            _hint(
                f"rule {rule.name!r} ({rule.kind}): {field} = {text!r} uses unknown column(s) {missing}.",
                f"the catalogue's columns are {catalog.columns}.",
            )
        )
    try:
        out = catalog.select(expr.alias("__m")).to_series()
    except Exception as exc:
        raise RuleError(f"rule {rule.name!r} ({rule.kind}): {field} = {text!r} cannot be evaluated on the catalogue: {exc}") from None
    if out.dtype != pl.Boolean:
        raise RuleError(
            _hint(
                f"rule {rule.name!r} ({rule.kind}): {field} = {text!r} gives {out.dtype} values, not true/false.",
                "compare it with something, e.g. \"stock > 0\".",
            )
        )
    if len(out) == 1 and catalog.height != 1:  # a constant such as "1 = 1"
        out = pl.Series([out[0]] * catalog.height, dtype=pl.Boolean)
    return out.fill_null(False).to_numpy().astype(bool, copy=False)


# --------------------------------------------------------------------------------------------
# the rules
# --------------------------------------------------------------------------------------------
class Rule:
    """Base of every rule. ``kind`` is the rule's type in a rules file; ``hard`` says whether the
    rule is a constraint that is never violated (as opposed to a re-ordering)."""

    kind: ClassVar[str] = ""
    hard: ClassVar[bool] = True
    _conditions: ClassVar[tuple[str, ...]] = ()
    name: str

    def _default_name(self) -> str:
        return self.kind

    def _setup(self) -> None:
        if self.name is None:
            object.__setattr__(self, "name", self._default_name())
        if not isinstance(self.name, str) or not self.name.strip():
            raise RuleError(f"a {self.kind} rule's name must be a non-empty string. Got {self.name!r} instead.")
        for f in self._conditions:
            _check_text(self, f, getattr(self, f), optional=f in ("match", "unless") and type(self) is ExcludeOwned)
        object.__setattr__(self, "_exprs", {f: _parse_condition(self, f, getattr(self, f)) for f in self._conditions})

    @property
    def label(self) -> str:
        """How the audit trail names this rule: ``"<type>:<name>"``."""
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Filter(Rule):
    """Keep only the items where ``keep`` holds (hard). E.g. in stock only: ``Filter("stock > 0")``.

    Examples
    --------
    >>> Filter("stock > 0", name="in stock only").label
    'filter:in stock only'
    """

    keep: str
    name: str | None = None
    kind: ClassVar[str] = "filter"
    _conditions: ClassVar[tuple[str, ...]] = ("keep",)

    def __post_init__(self) -> None:
        self._setup()

    def _default_name(self) -> str:
        return f"keep {self.keep}"


@dataclass(frozen=True)
class ExcludeOwned(Rule):
    """Never recommend an item the customer already bought (hard), with exceptions.

    Parameters
    ----------
    match : str, optional
        Which items the rule covers (default: every item).
    unless : str, optional
        Items exempt from the rule, e.g. ``"consumable"`` (energy bars, tennis balls).
    renew_after : float or timedelta, optional
        Days after which an owned item may come back (running shoes after 180 days). Needs
        timestamps. Without it, an owned item never comes back.

    Examples
    --------
    >>> ExcludeOwned(unless="consumable", name="durables once").name
    'durables once'
    """

    match: str | None = None
    unless: str | None = None
    renew_after: float | dt.timedelta | None = None
    name: str | None = None
    kind: ClassVar[str] = "exclude_owned"
    _conditions: ClassVar[tuple[str, ...]] = ("match", "unless")

    def __post_init__(self) -> None:
        self._setup()
        object.__setattr__(self, "_renew_days", _days(self, "renew_after", self.renew_after))

    def _default_name(self) -> str:
        return "exclude owned" + (f" unless {self.unless}" if self.unless else "")


@dataclass(frozen=True)
class OnePerGroup(Rule):
    """The child-bike rule (hard): if the customer bought a matching item within ``within`` days
    (ever, when ``within`` is None), or the cart holds one, no matching item is recommended; and a
    list never holds two matching items.

    Examples
    --------
    >>> OnePerGroup("category = 'bike' AND age_group = 'child'", within=730, name="no second child bike").kind
    'one_per_group'
    """

    match: str
    within: float | dt.timedelta | None = None
    name: str | None = None
    kind: ClassVar[str] = "one_per_group"
    _conditions: ClassVar[tuple[str, ...]] = ("match",)

    def __post_init__(self) -> None:
        self._setup()
        object.__setattr__(self, "_within_days", _days(self, "within", self.within))

    def _default_name(self) -> str:
        return f"one per group {self.match}"


@dataclass(frozen=True)
class MaxPerGroup(Rule):
    """At most ``n`` items of one value of ``column`` in a list (hard): diversity.

    A null value is a group of its own.

    Examples
    --------
    >>> MaxPerGroup("category", 2).name
    'at most 2 per category'
    """

    column: str
    n: int
    name: str | None = None
    kind: ClassVar[str] = "max_per_group"

    def __post_init__(self) -> None:
        self._setup()
        _check_text(self, "column", self.column)
        if not _is_int(self.n) or self.n < 1:
            raise RuleError(f"rule {self.name!r} (max_per_group): 'n' must be an int >= 1. Got {self.n!r} instead.")

    def _default_name(self) -> str:
        return f"at most {self.n} per {self.column}"


@dataclass(frozen=True)
class Boost(Rule):
    """Multiply the score of matching items by ``factor`` > 1 (soft): "eco up 20%" is 1.2.

    Scores are moved *up* whatever their sign: a positive score is multiplied by ``factor``, a
    negative one divided by it. A NaN score (no opinion) stays NaN and 0 stays 0: a boost
    re-orders what the model proposes, it never brings in an item the model did not score.

    Examples
    --------
    >>> Boost("eco_label", 1.2, name="eco up 20%").label
    'boost:eco up 20%'
    """

    match: str
    factor: float
    name: str | None = None
    kind: ClassVar[str] = "boost"
    hard: ClassVar[bool] = False
    _conditions: ClassVar[tuple[str, ...]] = ("match",)

    def __post_init__(self) -> None:
        self._setup()
        if not _is_number(self.factor) or not self._valid(float(self.factor)):
            raise RuleError(f"rule {self.name!r} ({self.kind}): 'factor' must be {self._range}. Got {self.factor!r} instead.")

    _range: ClassVar[str] = "a number > 1 (1.2 = up 20%)"

    @staticmethod
    def _valid(f: float) -> bool:
        return f > 1

    def _default_name(self) -> str:
        return f"{self.kind} {self.match} x{self.factor}"


@dataclass(frozen=True)
class Bury(Boost):
    """Multiply the score of matching items by ``factor`` in (0, 1) (soft): 0.5 = down 50%.

    Negative scores are divided by ``factor`` so they move down too; NaN and 0 are unchanged.

    Examples
    --------
    >>> Bury("price > 500", 0.5).kind
    'bury'
    """

    kind: ClassVar[str] = "bury"
    _range: ClassVar[str] = "a number between 0 and 1 (0.5 = down 50%)"

    @staticmethod
    def _valid(f: float) -> bool:
        return 0 < f < 1


@dataclass(frozen=True)
class Pin(Rule):
    """Place ``items`` at ``position`` (1 = first), ``position + 1``, ... (soft).

    A pinned item still obeys every hard rule: if a filter removes it, it is not shown (and
    :meth:`Ruled.why_not` says so). Pinned items take their slots first and count toward
    the list limits.

    Examples
    --------
    >>> Pin(["P0001"], position=1, name="summer promo").items
    ('P0001',)
    """

    items: Sequence[Hashable]
    position: int = 1
    name: str | None = None
    kind: ClassVar[str] = "pin"
    hard: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if isinstance(self.items, (str, bytes)) or not isinstance(self.items, (list, tuple, np.ndarray)) or len(self.items) == 0:
            n = self.name or "pin"
            raise RuleError(
                _hint(f"rule {n!r} (pin): 'items' must be a non-empty list of item ids. Got {self.items!r} instead.", 'write items = ["P0001"].')
            )
        object.__setattr__(self, "items", tuple(np.asarray(self.items).tolist() if isinstance(self.items, np.ndarray) else self.items))
        self._setup()
        if not _is_int(self.position) or self.position < 1:
            raise RuleError(f"rule {self.name!r} (pin): 'position' must be an int >= 1. Got {self.position!r} instead.")

    def _default_name(self) -> str:
        return f"pin {list(self.items)} at {self.position}"


@dataclass(frozen=True)
class RequireConsent(Rule):
    """Customers whose ``column`` (in the customers table) is not true get non-personalised
    results only: they are scored as an anonymous visitor with the same cart or product page
    (by :class:`Ruled`'s ``fallback`` model when given), and no rule reads their history.

    A known customer without a row in the customers table, or with a null value, has no consent.

    Examples
    --------
    >>> RequireConsent("consent_personalization").name
    'consent consent_personalization'
    """

    column: str
    name: str | None = None
    kind: ClassVar[str] = "require_consent"

    def __post_init__(self) -> None:
        self._setup()
        _check_text(self, "column", self.column)

    def _default_name(self) -> str:
        return f"consent {self.column}"


_TYPES: dict[str, type[Rule]] = {
    c.kind: c for c in (Filter, ExcludeOwned, OnePerGroup, MaxPerGroup, Boost, Bury, Pin, RequireConsent)
}


# --------------------------------------------------------------------------------------------
# rules files
# --------------------------------------------------------------------------------------------
def _rule_from_table(pos: int, table: Any) -> Rule:
    where = f"rule #{pos}"
    if not isinstance(table, dict):
        raise RuleError(f"{where}: expected a [[rule]] table. Got {table!r}.")
    name = table.get("name")
    if name is None:
        raise RuleError(_hint(f"{where}: missing field 'name'.", 'give every rule a name, e.g. name = "in stock only".'))
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"{where}: 'name' must be a non-empty string. Got {name!r} instead.")
    where = f"rule {name!r}"
    kind = table.get("type")
    if kind is None:
        raise RuleError(_hint(f"{where}: missing field 'type'.", f"one of {sorted(_TYPES)}."))
    if kind not in _TYPES:
        raise RuleError(_hint(f"{where}: unknown rule type {kind!r}.", f"known types: {sorted(_TYPES)}."))
    cls = _TYPES[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    extra = sorted(set(table) - set(fields) - {"type"})
    if extra:
        raise RuleError(_hint(f"{where} ({kind}): unknown field(s) {extra}.", f"a {kind} rule takes {sorted(set(fields) - {'name'})}."))
    required = [n for n, f in fields.items() if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [n for n in required if n not in table]
    if missing:
        raise RuleError(_hint(f"{where} ({kind}): missing field(s) {missing}.", f"a {kind} rule needs {required}."))
    args = {k: v for k, v in table.items() if k != "type"}
    return cls(**args)


def parse_rules(text: str, catalog: Any = None, *, source: str = "rules") -> RuleSet:
    """Build a :class:`RuleSet` from the text of a TOML rules file (see :func:`load_rules`).

    Examples
    --------
    >>> rs = parse_rules('''
    ... [[rule]]
    ... name = "in stock only"
    ... type = "filter"
    ... keep = "stock > 0"
    ... ''')
    >>> rs.names
    ['in stock only']
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: not valid TOML: {exc}") from None
    extra = sorted(set(doc) - {"rule", "purchase_event"})
    if extra:
        raise RuleError(
            _hint(f"{source}: unknown top-level key(s) {extra}.", "a rules file holds [[rule]] tables and, optionally, purchase_event.")
        )
    purchase_event = doc.get("purchase_event", "purchase")
    if not isinstance(purchase_event, str) or not purchase_event:
        raise RuleError(f"{source}: purchase_event must be a non-empty string (the event type of a purchase). Got {purchase_event!r}.")
    tables = doc.get("rule")
    if not isinstance(tables, list) or not tables:
        raise RuleError(_hint(f"{source}: no rules found.", 'write each rule as a [[rule]] table with name = "..." and type = "...".'))
    rules = RuleSet([_rule_from_table(i, t) for i, t in enumerate(tables, start=1)], purchase_event=purchase_event)
    if catalog is not None:
        rules.validate(catalog)
    return rules


def load_rules(path: str | Path, catalog: Any = None) -> RuleSet:
    """Load an ordered list of named rules from a TOML file, validated up front.

    Every problem -- TOML syntax, unknown rule type, missing or unknown field, wrong value type,
    duplicate name, an expression that does not parse -- raises :class:`~recokit.RuleError`
    naming the rule. With ``catalog`` (a DataFrame or a Dataset) the expressions are also checked
    against its columns (unknown column, non-boolean condition, unknown pinned item), so nothing
    can fail later at request time.

    Examples
    --------
    >>> from pathlib import Path
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "rules.toml"
    >>> _ = p.write_text('[[rule]]\\nname = "eco up 20%"\\ntype = "boost"\\nmatch = "eco_label"\\nfactor = 1.2\\n')
    >>> load_rules(p)[0]
    Boost(match='eco_label', factor=1.2, name='eco up 20%')
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"cannot read the rules file {str(p)!r}: {exc.strerror or exc}") from None
    return parse_rules(text, catalog, source=str(p))


# --------------------------------------------------------------------------------------------
# the rule set
# --------------------------------------------------------------------------------------------
def _catalog_of(data: Any) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    if isinstance(data, Dataset):
        return data.catalog, data.customers
    if isinstance(data, pl.DataFrame):
        return data, None
    raise ConfigError(f"expected a polars DataFrame catalogue or a recokit.Dataset. Got {type(data).__name__}.")


@dataclass
class _Limit:
    rule: Rule
    codes: np.ndarray  # group code per item, -1 = not limited
    cap: int
    names: list[str]


@dataclass
class _Plan:
    """One request, resolved: what the model said and what the rules allow."""

    query: Query
    rules: RuleSet
    personal: bool
    model: Recommender
    ctx: Context
    raw: np.ndarray
    adj: np.ndarray
    base_allowed: np.ndarray
    allowed: np.ndarray
    removed: list[tuple[Rule, np.ndarray | None, np.ndarray | None]]  # (rule, idx removed, mask removed)
    now_us: int | None


class RuleSet:
    """An ordered list of named rules, validated once; fitted on a Dataset it can check any list.

    Parameters
    ----------
    rules : iterable of Rule
        Names must be unique; at most one :class:`RequireConsent`.
    purchase_event : str
        When the dataset has an event column, the event type that counts as a purchase for
        :class:`ExcludeOwned` and :class:`OnePerGroup` (default ``"purchase"``). A dataset with
        events but no row of this type is an error: the history rules would silently never fire.

    Examples
    --------
    >>> rs = RuleSet([Filter("stock > 0", name="in stock"), MaxPerGroup("category", 2)])
    >>> rs.names
    ['in stock', 'at most 2 per category']
    """

    def __init__(self, rules: Iterable[Rule], *, purchase_event: str = "purchase") -> None:
        if not isinstance(purchase_event, str) or not purchase_event:
            raise RuleError(f"RuleSet's purchase_event must be a non-empty event name. Got {purchase_event!r}.")
        self.purchase_event = purchase_event
        if isinstance(rules, (str, Path)):
            raise RuleError(_hint(f"RuleSet expects rules, not the path {str(rules)!r}.", "load a rules file with recokit.load_rules(path, catalog)."))
        if isinstance(rules, Rule):
            rules = [rules]
        rules = tuple(rules)
        for r in rules:
            if not isinstance(r, Rule):
                raise RuleError(_hint(f"RuleSet expects rules; got {type(r).__name__} {r!r}.", f"use one of {sorted(c.__name__ for c in _TYPES.values())}."))
        seen: set[str] = set()
        for r in rules:
            if r.name in seen:
                raise RuleError(_hint(f"rule {r.name!r}: duplicate name.", "give every rule its own name (the audit trail refers to rules by name)."))
            seen.add(r.name)
        if sum(isinstance(r, RequireConsent) for r in rules) > 1:
            raise RuleError("only one require_consent rule is allowed in a rule set.")
        self.rules: tuple[Rule, ...] = rules

    # -- sequence ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __getitem__(self, i: int) -> Rule:
        return self.rules[i]

    def __repr__(self) -> str:
        return f"RuleSet({list(self.rules)!r})"

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rules]

    @classmethod
    def from_toml(cls, path: str | Path, catalog: Any = None) -> RuleSet:
        """Same as :func:`load_rules`."""
        return load_rules(path, catalog)

    def wrap(self, model: Recommender, *, fallback: Recommender | None = None) -> Ruled:
        """``Ruled(model, self, fallback=fallback)``."""
        return Ruled(model, self, fallback=fallback)

    # -- validation & compilation ----------------------------------------------------------
    def validate(self, data: Any) -> None:
        """Check every rule against a catalogue (DataFrame) or a Dataset; raise RuleError."""
        self._compile(*_catalog_of(data), item_ids=None)

    def _compile(self, catalog: pl.DataFrame, customers: pl.DataFrame | None, item_ids: Any) -> dict[str, Any]:
        n = catalog.height
        out: dict[str, Any] = {"masks": {}, "limits": [], "pins": [], "consent": None}
        keep = np.ones(n, dtype=bool)
        mult_pos = np.ones(n)
        mult_neg = np.ones(n)
        ids = catalog["item_id"] if "item_id" in catalog.columns else None
        for r in self.rules:
            if isinstance(r, Filter):
                m = _evaluate(r, "keep", catalog)
                out["masks"][r.name] = m
                keep &= m
            elif isinstance(r, ExcludeOwned):
                covered = _evaluate(r, "match", catalog) if r.match is not None else np.ones(n, dtype=bool)
                if r.unless is not None:
                    covered &= ~_evaluate(r, "unless", catalog)
                out["masks"][r.name] = covered
            elif isinstance(r, OnePerGroup):
                m = _evaluate(r, "match", catalog)
                out["masks"][r.name] = m
                out["limits"].append(_Limit(r, np.where(m, 0, -1).astype(np.int64), 1, [r.match]))
            elif isinstance(r, MaxPerGroup):
                if r.column not in catalog.columns:
                    raise RuleError(_hint(f"rule {r.name!r} (max_per_group): unknown column {r.column!r}.", f"the catalogue's columns are {catalog.columns}."))
                codes, names = group_codes(catalog[r.column])
                out["limits"].append(_Limit(r, codes, int(r.n), names))
            elif isinstance(r, Boost):  # Bury too
                m = _evaluate(r, "match", catalog)
                out["masks"][r.name] = m
                f = float(r.factor)
                mult_pos[m] *= f
                mult_neg[m] /= f
            elif isinstance(r, Pin):
                if ids is None:
                    raise RuleError(f"rule {r.name!r} (pin): the catalogue has no 'item_id' column to find the pinned items in.")
                known = set(ids.to_list()) if item_ids is None else None
                unknown = [i for i in r.items if (i not in known if known is not None else item_ids.get(i) is None)]
                if unknown:
                    raise RuleError(_hint(f"rule {r.name!r} (pin): unknown item id(s) {unknown[:5]}.", "pin items of the catalogue (check the spelling and type of the ids)."))
                if item_ids is not None:
                    out["pins"].append((r, item_ids.index(r.items), int(r.position)))
            elif isinstance(r, RequireConsent):
                if customers is None:
                    continue  # checked when fitted on a Dataset (a bare catalogue has no customers)
                if r.column not in customers.columns:
                    raise RuleError(_hint(f"rule {r.name!r} (require_consent): the customers table has no column {r.column!r}.", f"its columns are {customers.columns}."))
                if customers.schema[r.column] != pl.Boolean:
                    raise RuleError(
                        _hint(
                            f"rule {r.name!r} (require_consent): column {r.column!r} must be true/false (Boolean). Got {customers.schema[r.column]}.",
                            "cast it to Boolean in the customers table.",
                        )
                    )
                out["consent"] = r
        out["keep"] = keep
        out["boost"] = (mult_pos, mult_neg) if (mult_pos != 1.0).any() else (None, None)
        return out

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, dataset: Dataset) -> RuleSet:
        """Compile every rule against ``dataset`` (catalogue masks, purchase history, consent).

        Refitting on a dataset with a refreshed catalogue (``Dataset.with_catalog``) or more
        purchases updates stock and histories without touching any model.
        """
        if not isinstance(dataset, Dataset):
            raise ConfigError(f"RuleSet.fit expects a recokit.Dataset; got {type(dataset).__name__}.")
        c = self._compile(dataset.catalog, dataset.customers, dataset.item_ids)
        needs_time = [r for r in self.rules if getattr(r, "_renew_days", None) is not None or getattr(r, "_within_days", None) is not None]
        if needs_time and not dataset.has_time:
            r = needs_time[0]
            raise RuleError(_hint(f"rule {r.name!r} ({r.kind}): a time window needs purchase timestamps.", "build the Dataset with time_col=..., or drop the window."))
        consent = next((r for r in self.rules if isinstance(r, RequireConsent)), None)
        if consent is not None:
            if dataset.customers is None:
                raise RuleError(_hint(f"rule {consent.name!r} (require_consent): the dataset has no customers table.", "build the Dataset with customers=... holding the consent column."))
            flags = dataset.customers.select("customer_id", pl.col(consent.column).fill_null(False))
            idx = dataset.customer_ids.index(flags["customer_id"], missing="ignore")
            allowed = np.zeros(dataset.n_customers, dtype=bool)
            ok = idx >= 0
            allowed[idx[ok]] = flags[consent.column].to_numpy()[ok]
            c["consent_ok"] = allowed
        if any(isinstance(r, (ExcludeOwned, OnePerGroup)) for r in self.rules):
            inter = dataset.interactions
            if "event" in inter.columns:
                inter = inter.filter(pl.col("event") == self.purchase_event)
                if inter.height == 0 and dataset.n_interactions:
                    r = next(r for r in self.rules if isinstance(r, (ExcludeOwned, OnePerGroup)))
                    kinds = dataset.interactions["event"].unique().sort().head(5).to_list()
                    raise RuleError(
                        _hint(
                            f"rule {r.name!r} ({r.kind}) reads purchases, but no interaction has the event "
                            f"{self.purchase_event!r} (events seen: {kinds}).",
                            "name your purchase event: RuleSet(rules, purchase_event='order') or "
                            "Ruled(model, RuleSet(rules, purchase_event='order')).",
                        )
                    )
            t = pl.col("timestamp").dt.epoch("us").max() if dataset.has_time else pl.lit(0, dtype=pl.Int64)
            h = inter.group_by("customer_idx", "item_idx").agg(t.alias("t")).sort("customer_idx", "item_idx")
            rows = h["customer_idx"].to_numpy()
            c["h_indptr"] = np.searchsorted(rows, np.arange(dataset.n_customers + 1)).astype(np.int64)
            c["h_items"] = h["item_idx"].to_numpy().astype(np.int64)
            c["h_time"] = h["t"].to_numpy().astype(np.int64)
        self.compiled_ = c
        self.dataset_ = dataset
        self.fallback_order_ = np.lexsort((np.arange(dataset.n_items), -dataset.item_counts())).astype(np.int64)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "compiled_"):
            raise NotFittedError("This RuleSet is not fitted yet. Call 'fit' with a recokit.Dataset before using it.")

    # -- per request -------------------------------------------------------------------------
    def personal(self, customer_id: Hashable | None) -> bool:
        """Whether this customer may get personalised results (always True without a consent rule)."""
        self._check_fitted()
        if self.compiled_["consent"] is None:
            return True
        if customer_id is None:
            return False
        cidx = self.dataset_.customer_ids.get(customer_id)
        return cidx is not None and bool(self.compiled_["consent_ok"][cidx])

    def _adjust(self, scores: np.ndarray) -> np.ndarray:
        """Boosts and buries: x factor for scores >= 0, / factor below 0 (so a boost always moves up)."""
        pos, neg = self.compiled_["boost"]
        if pos is None:
            return scores
        out = scores * pos  # one pass; the sign of a score is kept, so negatives are found after
        below = out < 0
        if below.any():
            idx = np.flatnonzero(below)
            out[idx] = scores[idx] * neg[idx]
        return out

    def _history(self, customer_id: Hashable | None) -> tuple[np.ndarray, np.ndarray]:
        c = self.compiled_
        cidx = None if customer_id is None or "h_indptr" not in c else self.dataset_.customer_ids.get(customer_id)
        if cidx is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        lo, hi = c["h_indptr"][cidx], c["h_indptr"][cidx + 1]
        return c["h_items"][lo:hi], c["h_time"][lo:hi]

    def _now_us(self, now: dt.datetime | None) -> int | None:
        now = now if now is not None else self.dataset_.last_time
        return None if now is None else int(np.datetime64(now, "us").astype(np.int64))

    def _removals(self, customer_id: Hashable | None, cart_idx: np.ndarray, now_us: int | None) -> list[tuple[Rule, np.ndarray | None, np.ndarray | None]]:
        """Per-customer hard removals: (rule, removed item indices or None, removed mask or None)."""
        out: list[tuple[Rule, np.ndarray | None, np.ndarray | None]] = []
        items, times = self._history(customer_id)
        masks = self.compiled_["masks"]
        for r in self.rules:
            if isinstance(r, ExcludeOwned) and len(items):
                hit = masks[r.name][items]
                if r._renew_days is not None and now_us is not None:
                    hit &= (now_us - times) < r._renew_days * _DAY_US
                if hit.any():
                    out.append((r, items[hit], None))
            elif isinstance(r, OnePerGroup):
                m = masks[r.name]
                hist = m[items]
                if r._within_days is not None and now_us is not None and len(items):
                    hist &= (now_us - times) <= r._within_days * _DAY_US
                if hist.any() or (len(cart_idx) and m[cart_idx].any()):
                    out.append((r, None, m))
        return out

    def _restrict(self, allowed: np.ndarray, customer_id: Hashable | None, cart_idx: np.ndarray, now_us: int | None) -> list:
        allowed &= self.compiled_["keep"]
        removed = self._removals(customer_id, cart_idx, now_us)
        for _, idx, mask in removed:
            if idx is not None:
                allowed[idx] = False
            else:
                allowed &= ~mask
        return removed

    def _select(self, adj: np.ndarray, allowed: np.ndarray, k: int, backfill: bool, fallback_order: np.ndarray) -> tuple[list[int], dict[int, Rule], dict[int, tuple[Rule, str]]]:
        """Pins first, then the best allowed candidates under the list limits, then back-fill.

        Returns the picked items in list order, the pinned ones (item -> pin rule) and the items
        a list limit skipped (item -> (rule, group name)).
        """
        limits: list[_Limit] = self.compiled_["limits"]
        counts: list[dict[int, int]] = [{} for _ in limits]
        blocked: dict[int, tuple[Rule, str]] = {}

        def take(i: int) -> bool:
            for j, lim in enumerate(limits):
                g = int(lim.codes[i])
                if g >= 0 and counts[j].get(g, 0) >= lim.cap:
                    blocked.setdefault(i, (lim.rule, lim.names[g]))
                    return False
            for j, lim in enumerate(limits):
                g = int(lim.codes[i])
                if g >= 0:
                    counts[j][g] = counts[j].get(g, 0) + 1
            return True

        # pins take their positions in rule order (a pin asking for a taken slot gets the next
        # free one; a pin whose slot falls beyond k is not shown)
        pinned: dict[int, Rule] = {}
        taken: dict[int, int] = {}  # position -> item
        for rule, idxs, position in self.compiled_["pins"]:
            p = position
            for i in idxs.tolist():
                if not allowed[i] or i in pinned:
                    continue
                while p in taken:
                    p += 1
                if p > k:
                    break
                if take(i):
                    pinned[i] = rule
                    taken[p] = i
                    p += 1
        need = k - len(pinned)
        avail = allowed.copy()
        if pinned:
            avail[list(pinned)] = False
        ranked: list[int] = []
        if need > 0:
            if not limits:
                cand = top_k(adj[None, :], avail[None, :], need)[0]
                ranked = cand[cand >= 0].tolist()
            else:
                work = avail.copy()
                chunk = max(2 * need, 16)
                while len(ranked) < need:
                    cand = top_k(adj[None, :], work[None, :], chunk)[0]
                    cand = cand[cand >= 0]
                    for i in cand.tolist():
                        if take(i):
                            ranked.append(i)
                            if len(ranked) == need:
                                break
                    if len(cand) < chunk:
                        break
                    work[cand] = False
                    chunk *= 4
            if backfill and len(ranked) < need:
                order = fallback_order[avail[fallback_order] & ~np.isfinite(adj[fallback_order])]
                for i in order.tolist():
                    if take(i):
                        ranked.append(i)
                        if len(ranked) == need:
                            break
        # the ranked items fill the free slots in order; pins beyond a short list's end close it
        final: list[int] = []
        rest = iter(ranked)
        for pos in range(1, len(ranked) + len(taken) + 1):
            if pos in taken:
                final.append(taken[pos])
            else:
                nxt = next(rest, None)
                if nxt is None:
                    break
                final.append(nxt)
        placed = set(final)
        final += [taken[p] for p in sorted(taken) if taken[p] not in placed]
        return final[:k], pinned, blocked

    def violations(self, query: Query, item_ids: Sequence[Hashable]) -> list[tuple[Hashable, str]]:
        """The hard-rule violations of any list, as ``(item_id, rule name)`` pairs in list order.

        An item can appear once per rule it breaks. List limits (one per group within a list,
        max per group) flag the items beyond the limit, in list order. Ids absent from the
        catalogue cannot break a catalogue rule and are not reported. A customer without
        consent is checked as an anonymous visitor (no history), as :class:`Ruled` treats them.

        Examples
        --------
        >>> import polars as pl
        >>> from recokit import Dataset, Query
        >>> cat = pl.DataFrame({"item_id": ["a", "b", "c"], "stock": [1, 0, 4], "category": ["x", "x", "x"]})
        >>> ds = Dataset(pl.DataFrame({"customer_id": [1], "item_id": ["a"]}), cat)
        >>> rs = RuleSet([Filter("stock > 0", name="in stock"), MaxPerGroup("category", 1, name="one x")]).fit(ds)
        >>> rs.violations(Query(customer_id=1), ["a", "b", "c"])
        [('b', 'in stock'), ('b', 'one x'), ('c', 'one x')]
        """
        self._check_fitted()
        if not isinstance(query, Query):
            raise ConfigError(f"violations expects a recokit.Query; got {type(query).__name__}.")
        ds = self.dataset_
        c = self.compiled_
        personal = self.personal(query.customer_id)
        cart = ds.item_ids.index(query.items, missing="ignore")
        cart = cart[cart >= 0]
        removals = self._removals(query.customer_id if personal else None, cart, self._now_us(query.now))
        ids = list(item_ids)
        idx = ds.item_ids.index(ids, missing="ignore")
        counts: list[dict[int, int]] = [{} for _ in c["limits"]]
        out: list[tuple[Hashable, str]] = []
        for item_id, i in zip(ids, idx.tolist(), strict=True):
            if i < 0:
                continue
            hits: set[str] = set()
            for r in self.rules:
                if isinstance(r, Filter) and not c["masks"][r.name][i]:
                    hits.add(r.name)
            for r, ridx, rmask in removals:
                if (ridx is not None and i in ridx) or (rmask is not None and rmask[i]):
                    hits.add(r.name)
            for j, lim in enumerate(c["limits"]):
                g = int(lim.codes[i])
                if g >= 0:
                    counts[j][g] = counts[j].get(g, 0) + 1
                    if counts[j][g] > lim.cap:
                        hits.add(lim.rule.name)
            out.extend((item_id, r.name) for r in self.rules if r.name in hits)
        return out

    # -- reporting -------------------------------------------------------------------------
    def check(self, data: Any) -> pl.DataFrame:
        """What each rule does on a catalogue (DataFrame or Dataset): one row per rule.

        Columns ``rule, type, matches, keeps, removes, note``: ``matches`` counts the items the
        rule's condition selects; ``keeps``/``removes`` are filled for filters (for other rules
        the effect depends on the customer, the cart or the list).

        Examples
        --------
        >>> import polars as pl
        >>> cat = pl.DataFrame({"item_id": ["a", "b"], "stock": [1, 0]})
        >>> RuleSet([Filter("stock > 0", name="in stock")]).check(cat)["removes"].to_list()
        [1]
        """
        catalog, customers = _catalog_of(data)
        c = self._compile(catalog, customers, None)
        n = catalog.height
        rows = []
        for r in self.rules:
            m = c["masks"].get(r.name)
            matches = int(m.sum()) if m is not None else None
            keeps = removes = None
            note = ""
            if isinstance(r, Filter):
                keeps, removes = matches, n - int(matches or 0)
                note = f"keeps items where {r.keep}"
            elif isinstance(r, ExcludeOwned):
                note = f"{matches} of {n} items are never re-recommended to their buyers" + (
                    f" within {r._renew_days:g} days" if r._renew_days is not None else ""
                )
            elif isinstance(r, OnePerGroup):
                note = f"after buying one of these {matches} items ({'ever' if r._within_days is None else f'within {r._within_days:g} days'}) or with one in the cart, none is offered; never 2 in a list"
            elif isinstance(r, MaxPerGroup):
                groups = catalog[r.column].n_unique()
                note = f"at most {r.n} per {r.column} in a list ({groups} groups)"
            elif isinstance(r, Boost):
                pct = (r.factor - 1) * 100
                note = f"scores of matching items x{r.factor:g} ({'up' if pct > 0 else 'down'} {abs(pct):.0f}%)"
            elif isinstance(r, Pin):
                matches = len(r.items)
                note = f"placed from position {r.position}"
            elif isinstance(r, RequireConsent):
                if customers is not None and r.column in customers.columns:
                    no = int((~customers[r.column].fill_null(False)).sum())
                    note = f"{no} of {customers.height} customers without consent get non-personalised results"
                else:
                    note = f"customers whose {r.column} is not true get non-personalised results"
            rows.append({"rule": r.name, "type": r.kind, "matches": matches, "keeps": keeps, "removes": removes, "note": note})
        schema = {"rule": pl.String, "type": pl.String, "matches": pl.Int64, "keeps": pl.Int64, "removes": pl.Int64, "note": pl.String}
        return pl.DataFrame(rows, schema=schema)


def check_file(path: str | Path, catalog: Any, out: TextIO | None = None) -> pl.DataFrame:
    """``recokit rules check FILE --catalog CSV``: load a rules file against a catalogue and print
    what each rule keeps / removes. Raises :class:`~recokit.RuleError` on any problem.

    Examples
    --------
    >>> import io, tempfile
    >>> import polars as pl
    >>> p = Path(tempfile.mkdtemp()) / "rules.toml"
    >>> _ = p.write_text('[[rule]]\\nname = "in stock only"\\ntype = "filter"\\nkeep = "stock > 0"\\n')
    >>> buf = io.StringIO()
    >>> _ = check_file(p, pl.DataFrame({"item_id": ["a", "b", "c"], "stock": [0, 1, 5]}), out=buf)
    >>> print(buf.getvalue().splitlines()[1])
     1. in stock only (filter): keeps 2, removes 1 -- keeps items where stock > 0
    """
    frame = to_frame(catalog, "catalog")
    if "item_id" in frame.columns:
        frame = normalise_ids(frame, "item_id")
    rules = load_rules(path, frame)
    table = rules.check(frame)
    print(f"{path}: {len(rules)} rule(s), all valid on a catalogue of {frame.height} items", file=out)
    for n, row in enumerate(table.iter_rows(named=True), start=1):
        counts = []
        if row["keeps"] is not None:
            counts.append(f"keeps {row['keeps']}, removes {row['removes']}")
        elif row["matches"] is not None:
            counts.append(f"matches {row['matches']}")
        effect = f": {counts[0]}" if counts else ""
        print(f"{n:>2}. {row['rule']} ({row['type']}){effect} -- {row['note']}", file=out)
    return table


# --------------------------------------------------------------------------------------------
# the wrapper
# --------------------------------------------------------------------------------------------
def _anonymous(q: Query) -> Query:
    return Query(customer_id=None, items=q.items, k=q.k, exclude=q.exclude, now=q.now, exclude_purchased=False)


class Ruled(Recommender):
    """A model (or hybrid) with business rules applied to its recommendations.

    ``Ruled`` is itself a :class:`~recokit.Recommender`: ``fit`` fits the wrapped model (and the
    ``fallback``) and compiles the rules against the same dataset; ``recommend`` applies the
    rules after scoring (see :mod:`recokit.rules` for the order).

    Parameters
    ----------
    model : Recommender
        Any model; it is fitted by :meth:`fit`.
    rules : RuleSet or list of Rule
    fallback : Recommender, optional
        Scores customers without consent (a :class:`RequireConsent` rule), e.g.
        ``Popularity()``. Default: the wrapped model asked as an anonymous visitor.

    Notes
    -----
    :meth:`score` returns the adjusted scores with NaN for the items a hard rule removes (list
    limits and pins are not scores; they apply in :meth:`recommend`). Rules are meant to end a
    pipeline: wrap the hybrid, not the other way round.

    Examples
    --------
    >>> import polars as pl
    >>> from recokit import Dataset, Popularity, Query
    >>> cat = pl.DataFrame({"item_id": ["kid bike", "kid bike 2", "helmet"],
    ...                     "category": ["bike", "bike", "helmet"], "age_group": ["child", "child", "child"]})
    >>> orders = pl.DataFrame({"customer_id": [1, 2, 2, 3], "item_id": ["kid bike", "kid bike", "kid bike 2", "helmet"]})
    >>> rule = OnePerGroup("category = 'bike' AND age_group = 'child'", name="no second child bike")
    >>> model = Ruled(Popularity(), [rule]).fit(Dataset(orders, cat))
    >>> model.recommend(Query(customer_id=1, k=3)).item_ids
    ['helmet']
    >>> model.why_not(Query(customer_id=1, k=3), "kid bike 2")
    "removed by rule 'no second child bike' (one_per_group): the customer bought 'kid bike'"
    """

    def __init__(self, model: Recommender, rules: RuleSet | Sequence[Rule], *, fallback: Recommender | None = None) -> None:
        self.model = model
        self.rules = rules
        self.fallback = fallback

    def _fit(self, dataset: Dataset) -> None:
        if not isinstance(self.model, Recommender):
            raise ConfigError(f"The 'model' parameter of Ruled must be a recokit Recommender. Got {type(self.model).__name__} instead.")
        if self.fallback is not None and not isinstance(self.fallback, Recommender):
            raise ConfigError(f"The 'fallback' parameter of Ruled must be a recokit Recommender or None. Got {type(self.fallback).__name__} instead.")
        rules = self.rules if isinstance(self.rules, RuleSet) else RuleSet(self.rules)
        # a private copy: the caller's RuleSet stays unfitted
        compiled = RuleSet(rules.rules, purchase_event=rules.purchase_event).fit(dataset)
        self.model.fit(dataset)
        if self.fallback is not None:
            self.fallback.fit(dataset)
        self.rules_ = compiled

    def refresh(self, data: Any) -> Ruled:
        """Re-read the catalogue (stock, price, promotion...) or a newer Dataset, without refitting.

        ``data`` is a catalogue frame (same item ids, any row order: see
        :meth:`Dataset.with_catalog`) or a :class:`Dataset` over the same items (new purchases
        then reach the history rules at once). The model keeps scoring as fitted. Returns self.
        """
        self._check_fitted()
        if isinstance(data, Dataset):
            if data.item_ids != self.dataset_.item_ids:
                raise ConfigError(_hint("Ruled.refresh: the dataset's items differ from the fitted ones.", "refit when the catalogue gains or loses products."))
            ds = data
        else:
            ds = self.dataset_.with_catalog(data)
        compiled = RuleSet(self.rules_.rules).fit(ds)
        self.rules_ = compiled  # one assignment: concurrent requests see the old or the new rules
        return self

    # -- the pipeline ------------------------------------------------------------------------
    def _plan(self, q: Query) -> _Plan:
        self._check_fitted()
        rs = self.rules_
        personal = rs.personal(q.customer_id)
        q_eff = q if personal else _anonymous(q)
        model = self.model if personal or self.fallback is None else self.fallback
        ctx = model.context(q_eff)
        raw = np.asarray(model._score(ctx), dtype=np.float64)
        adj = rs._adjust(raw)
        base_allowed = model._allowed(ctx)
        allowed = base_allowed.copy()
        now_us = rs._now_us(ctx.now)
        removed = rs._restrict(allowed, q_eff.customer_id, ctx.item_idx, now_us)
        return _Plan(q, rs, personal, model, ctx, raw, adj, base_allowed, allowed, removed, now_us)

    def _score(self, ctx: Context) -> np.ndarray:
        plan = self._plan(ctx.query)
        return np.where(plan.allowed | ~plan.base_allowed, plan.adj, np.nan)

    def _explain(self, ctx: Context, item_idx: int) -> str | None:
        plan = self._plan(ctx.query)
        return plan.model._explain(plan.ctx, item_idx)

    def explain(self, query: Query | None = None, item_id: Hashable | None = None, **kwargs: Any) -> str | None:
        """The wrapped model's reason for ``item_id`` (as the customer is scored: see consent)."""
        plan = self._plan(self._query(query, kwargs))
        idx = self.dataset_.item_ids.get(item_id)
        return None if idx is None else plan.model._explain(plan.ctx, idx)

    def _run(self, q: Query, backfill: bool | None) -> tuple[_Plan, list[int], dict[int, Rule], dict[int, tuple[Rule, str]]]:
        plan = self._plan(q)
        use_backfill = self.backfill if backfill is None else backfill
        picked, pinned, blocked = plan.rules._select(plan.adj, plan.allowed, q.k, use_backfill, self.fallback_order_)
        return plan, picked, pinned, blocked

    def recommend(self, query: Query | None = None, *, backfill: bool | None = None, **kwargs: Any) -> Recommendations:
        """The top ``k`` items under the rules, each with its reason and the rules that touched it.

        ``Recommendation.rules`` lists ``"<type>:<name>"`` of the boosts, buries and pins applied
        to the item, and the consent rule when the customer was scored without personalisation.

        Examples
        --------
        >>> import polars as pl
        >>> from recokit import Dataset, Popularity
        >>> cat = pl.DataFrame({"item_id": ["a", "b"], "stock": [0, 2]})
        >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 2, 3], "item_id": ["a", "a", "b"]}), cat)
        >>> Ruled(Popularity(), [Filter("stock > 0")]).fit(ds).recommend(k=2).item_ids
        ['b']
        """
        q = self._query(query, kwargs)
        plan, picked, pinned, _ = self._run(q, backfill)
        return self._package(plan, picked, pinned)

    def _package(self, plan: _Plan, picked: list[int], pinned: dict[int, Rule]) -> Recommendations:  # type: ignore[override]
        ids = self.dataset_.item_ids
        masks = plan.rules.compiled_["masks"]
        consent = plan.rules.compiled_["consent"]
        boosts = [r for r in plan.rules.rules if isinstance(r, Boost)]
        recs = []
        for rank, i in enumerate(picked, start=1):
            s = float(plan.adj[i])
            finite = math.isfinite(s)
            touched = [r.label for r in boosts if finite and plan.raw[i] != 0 and masks[r.name][i]]
            if i in pinned:
                touched.append(pinned[i].label)
            if not plan.personal and consent is not None:
                touched.append(consent.label)
            if finite:
                reason = plan.model._explain(plan.ctx, i)
            else:
                reason = PINNED_REASON if i in pinned else BACKFILL_REASON
            recs.append(Recommendation(rank=rank, item_id=ids.id(i), score=s, reason=reason, rules=tuple(touched)))
        return Recommendations(items=tuple(recs), query=plan.query)

    def recommend_many(
        self,
        customers: Sequence[Hashable],
        k: int = 10,
        *,
        exclude_purchased: bool = False,
        now: dt.datetime | None = None,
        reasons: bool = True,
        backfill: bool | None = None,
        batch_size: int = 2048,
    ) -> pl.DataFrame:
        """:meth:`recommend` for many customers, as one table ``customer_id, rank, item_id, score,
        reason, rules`` (one request at a time: rules are per customer)."""
        self._check_fitted()
        Query(k=k)
        customers = list(customers)
        self.dataset_.customer_ids.check_kind(customers, "recommend_many")
        cols: dict[str, list] = {"customer_id": [], "rank": [], "item_id": [], "score": [], "reason": [], "rules": []}
        for c in customers:
            recs = self.recommend(Query(customer_id=c, k=k, now=now, exclude_purchased=exclude_purchased), backfill=backfill)
            for r in recs:
                cols["customer_id"].append(c)
                cols["rank"].append(r.rank)
                cols["item_id"].append(r.item_id)
                cols["score"].append(r.score)
                cols["reason"].append(r.reason if reasons else None)
                cols["rules"].append(list(r.rules))
        ds = self.dataset_
        return pl.DataFrame(
            {
                "customer_id": pl.Series("customer_id", cols["customer_id"], dtype=ds.customer_ids.dtype),
                "rank": pl.Series(cols["rank"], dtype=pl.Int64),
                "item_id": pl.Series(cols["item_id"], dtype=ds.item_ids.dtype),
                "score": pl.Series(cols["score"], dtype=pl.Float64),
                "reason": pl.Series(cols["reason"], dtype=pl.String),
                "rules": pl.Series(cols["rules"], dtype=pl.List(pl.String)),
            }
        )

    # -- audit -----------------------------------------------------------------------------
    def violations(self, query: Query, item_ids: Sequence[Hashable]) -> list[tuple[Hashable, str]]:
        """The hard-rule violations of any list (see :meth:`RuleSet.violations`)."""
        self._check_fitted()
        return self.rules_.violations(query, item_ids)

    def why_not(self, query: Query | None = None, item_id: Hashable | None = None, *, backfill: bool | None = None, **kwargs: Any) -> str:
        """Why ``item_id`` is (or is not) in the list for this request, naming the rule.

        Examples
        --------
        >>> import polars as pl
        >>> from recokit import Dataset, Popularity, Query
        >>> cat = pl.DataFrame({"item_id": ["a", "b"], "stock": [0, 2]})
        >>> ds = Dataset(pl.DataFrame({"customer_id": [1, 2, 3], "item_id": ["a", "a", "b"]}), cat)
        >>> m = Ruled(Popularity(), [Filter("stock > 0", name="in stock")]).fit(ds)
        >>> m.why_not(Query(k=2), "a")
        "removed by rule 'in stock' (filter): it does not satisfy stock > 0"
        >>> m.why_not(Query(k=2), "b")
        'recommended at rank 1'
        """
        q = self._query(query, kwargs)
        plan, picked, pinned, blocked = self._run(q, backfill)
        ds = self.dataset_
        i = ds.item_ids.get(item_id)
        if i is None:
            return f"{item_id!r} is not in the catalogue"
        if i in picked:
            return f"recommended at rank {picked.index(i) + 1}" + (f" (pinned by rule {pinned[i].name!r})" if i in pinned else "")
        if not plan.base_allowed[i]:
            if i in plan.ctx.item_idx:
                return "it is in the query's context (the product on screen or the cart)"
            if i in plan.ctx.exclude_idx:
                return "the query excludes it"
            return "the customer already bought it (exclude_purchased)"
        masks = plan.rules.compiled_["masks"]
        for r in plan.rules.rules:
            if isinstance(r, Filter) and not masks[r.name][i]:
                return f"removed by rule {r.name!r} (filter): it does not satisfy {r.keep}"
        items, times = plan.rules._history(plan.query.customer_id if plan.personal else None)
        for r, ridx, rmask in plan.removed:
            if ridx is not None and i in ridx:
                when = self._when(times[items == i])
                return f"removed by rule {r.name!r} (exclude_owned): the customer bought it{when}"
            if rmask is not None and rmask[i]:
                cart = [j for j in plan.ctx.item_idx.tolist() if rmask[j]]
                if cart:
                    return f"removed by rule {r.name!r} (one_per_group): the cart holds {ds.item_ids.id(cart[0])!r}"
                hist = rmask[items]
                last = int(np.argmax(np.where(hist, times, np.iinfo(np.int64).min)))
                return f"removed by rule {r.name!r} (one_per_group): the customer bought {ds.item_ids.id(items[last])!r}{self._when(times[last:last + 1])}"
        if i in blocked:
            rule, group = blocked[i]
            if isinstance(rule, OnePerGroup):
                return f"removed by rule {rule.name!r} (one_per_group): the list already holds an item matching {rule.match}"
            return f"removed by rule {rule.name!r} (max_per_group): the list already holds {rule.n} items with {rule.column} = {group!r}"
        if not math.isfinite(plan.adj[i]):
            return f"the model has no opinion on it and the list was full (k={q.k}) before back-fill reached it"
        last = [j for j in picked if math.isfinite(plan.adj[j])]
        cut = f" (its score {plan.adj[i]:.4g} vs {plan.adj[last[-1]]:.4g} for the last scored item)" if last else ""
        return f"not in the top {q.k}: ranked below the cut{cut}"

    @staticmethod
    def _when(times: np.ndarray) -> str:
        if not len(times) or times.max() == 0:
            return ""
        day = np.datetime64(int(times.max()), "us").astype("datetime64[D]")
        return f" on {day}"
