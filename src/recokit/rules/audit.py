"""The audit: why an item is (or is not) in a list, and the hard-rule violations of any list.

Each rule explains its own removals (:meth:`Rule.why_removed`, :meth:`Rule.why_limited`); this
module only asks them in order.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

from recokit._errors import ConfigError
from recokit.core import Query, Source

if TYPE_CHECKING:
    from recokit.rules.ruled import Ruled
    from recokit.rules.ruleset import RuleSet

__all__ = ["violations", "why_not"]


def why_not(model: Ruled, query: Query, item_id: Hashable, backfill: bool | None) -> str:
    """See :meth:`Ruled.why_not`."""
    ds = model.dataset_
    i = ds.item_ids.get(item_id)
    if i is None:
        return f"{item_id!r} is not in the catalogue"
    batch = model.resolve(query)
    sel, blocked, adjusted = model.trace(batch, backfill)
    picked = sel.picked[0].tolist()
    if i in picked:
        pos = picked.index(i)
        pin = f" (pinned by rule {_pin_rule(model, i)!r})" if sel.source[0, pos] == Source.PINNED else ""
        return f"recommended at rank {pos + 1}{pin}"
    if i in batch.context_items(0).tolist():
        return "it is in the query's context (the product on screen or the cart)"
    if i in batch.exclude.indices.tolist():
        return "the query excludes it"
    if batch.exclude_purchased and batch.known[0]:
        ui = ds.user_items
        c = int(batch.customer_idx[0])
        if i in ui.indices[ui.indptr[c] : ui.indptr[c + 1]].tolist():
            return "the customer already bought it (exclude_purchased)"
    rules = model.rules_
    audit = rules.audit(int(model.rule_rows(batch)[0]), batch.context_items(0), batch.now)
    for first_pass in (True, False):  # catalogue rules first, then the customer's
        for r in rules.rules:
            if r.reads_history != first_pass:
                text = r.why_removed(i, audit)
                if text is not None:
                    return text
    if i in blocked:
        rule, group = blocked[i]
        return rule.why_limited(group)
    if not math.isfinite(adjusted[i]):
        return f"the model has no opinion on it and the list was full (k={query.k}) before back-fill reached it"
    last = [j for j in picked if j >= 0 and math.isfinite(adjusted[j])]
    cut = f" (its score {adjusted[i]:.4g} vs {adjusted[last[-1]]:.4g} for the last scored item)" if last else ""
    return f"not in the top {query.k}: ranked below the cut{cut}"


def _pin_rule(model: Ruled, i: int) -> str:
    for slots in model.rules_.compiled_.pins:
        if i in slots.items.tolist():
            return slots.rule.name
    return "?"


def violations(rules: RuleSet, query: Query, item_ids: Sequence[Hashable]) -> list[tuple[Hashable, str]]:
    """See :meth:`RuleSet.violations`."""
    c = rules._check_fitted()
    if not isinstance(query, Query):
        raise ConfigError(f"violations expects a recokit.Query; got {type(query).__name__}.")
    ds = rules.dataset_
    found = int(rules.customer_rows([query.customer_id])[0])
    cart = ds.item_ids.index(query.items, missing="ignore")
    audit = rules.audit(found, cart[cart >= 0], query.now)
    ids = list(item_ids)
    idx = ds.item_ids.index(ids, missing="ignore")
    counts: list[dict[int, int]] = [{} for _ in c.limits]
    out: list[tuple[Hashable, str]] = []
    for item_id, i in zip(ids, idx.tolist(), strict=True):
        if i < 0:
            continue
        hits = {r.name for r in rules.rules if r.hard and r.why_removed(i, audit) is not None}
        for j, lim in enumerate(c.limits):
            g = int(lim.codes[i])
            if g >= 0:
                counts[j][g] = counts[j].get(g, 0) + 1
                if counts[j][g] > lim.cap:
                    hits.add(lim.rule.name)
        out.extend((item_id, r.name) for r in rules.rules if r.name in hits)
    return out
