"""Rules files: an ordered list of named rules in TOML, validated up front.

Every problem -- TOML syntax, unknown rule type, missing or unknown field, wrong value type,
duplicate name, an expression that does not parse -- raises :class:`~recokit.RuleError` naming
the rule.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from recokit._errors import RuleError
from recokit.data import normalise_ids, read_text_file, to_frame
from recokit.rules.rule import RULE_TYPES, Rule
from recokit.rules.ruleset import RuleSet

__all__ = ["check_file", "load_rules", "parse_rules"]


def _rule_from_table(pos: int, table: Any) -> Rule:
    where = f"rule #{pos}"
    if not isinstance(table, dict):
        raise RuleError(f"{where}: expected a [[rule]] table. Got {table!r}.")
    name = table.get("name")
    if name is None:
        raise RuleError(f"{where}: missing field 'name'.", hint='give every rule a name, e.g. name = "in stock only".')
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"{where}: 'name' must be a non-empty string. Got {name!r} instead.")
    where = f"rule {name!r}"
    kind = table.get("type")
    if kind is None:
        raise RuleError(f"{where}: missing field 'type'.", hint=f"one of {sorted(RULE_TYPES)}.")
    if not isinstance(kind, str) or kind not in RULE_TYPES:
        raise RuleError(f"{where}: unknown rule type {kind!r}.", rule=name, hint=f"known types: {sorted(RULE_TYPES)}.")
    cls = RULE_TYPES[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    extra = sorted(set(table) - set(fields) - {"type"})
    if extra:
        raise RuleError(f"{where} ({kind}): unknown field(s) {extra}.", hint=f"a {kind} rule takes {sorted(set(fields) - {'name'})}.")
    required = [n for n, f in fields.items() if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [n for n in required if n not in table]
    if missing:
        raise RuleError(f"{where} ({kind}): missing field(s) {missing}.", hint=f"a {kind} rule needs {required}.")
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
    except RecursionError:
        raise RuleError(f"{source}: not a rules file: values nested too deeply to be read.", hint="a rules file holds flat [[rule]] tables.") from None
    extra = sorted(set(doc) - {"rule", "purchase_event"})
    if extra:
        raise RuleError(
            f"{source}: unknown top-level key(s) {extra}.", hint="a rules file holds [[rule]] tables and, optionally, purchase_event."
        )
    purchase_event = doc.get("purchase_event", "purchase")
    if not isinstance(purchase_event, str) or not purchase_event:
        raise RuleError(f"{source}: purchase_event must be a non-empty string (the event type of a purchase). Got {purchase_event!r}.")
    tables = doc.get("rule")
    if not isinstance(tables, list) or not tables:
        raise RuleError(f"{source}: no rules found.", hint='write each rule as a [[rule]] table with name = "..." and type = "...".')
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
    Boost(match='eco_label', factor=1.2, name='eco up 20%', customers=None)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise RuleError(f"load_rules: the path must be a str or a pathlib.Path. Got {type(path).__name__}.", hint="to build rules from text, use parse_rules(text).")
    text = read_text_file(path, "rules file", RuleError)
    return parse_rules(text, catalog, source=str(Path(path)))


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
