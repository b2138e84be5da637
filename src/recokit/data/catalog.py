"""What to call an item in a reason: its catalogue name, else its id.

Examples
--------
>>> import polars as pl
>>> from recokit import Dataset
>>> from recokit.data import item_label, item_labels
>>> ds = Dataset(
...     pl.DataFrame({"customer_id": [1, 1], "item_id": ["g1", "g2"]}),
...     pl.DataFrame({"item_id": ["g1", "g2"], "name": ["Energy gel", None]}),
... )
>>> item_labels(ds), item_label(ds, 0), item_label(ds, 0, with_id=True), item_label(ds, 1, with_id=True)
(['Energy gel', 'g2'], 'Energy gel', 'Energy gel (g1)', 'g2')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from recokit.data.dataset import Dataset

__all__ = ["item_label", "item_labels"]


def _named(name: object) -> bool:
    return name is not None and bool(str(name).strip())


def item_labels(dataset: Dataset) -> list[str]:
    """Each item's label in ``item_idx`` order: the catalogue's ``name``, or the item id where
    there is no name column or the name is null or blank (never the text "None")."""
    ids = [str(i) for i in dataset.item_ids.to_list()]
    if "name" not in dataset.catalog.columns:
        return ids
    names = dataset.catalog["name"].cast(pl.String).to_list()
    return [n if _named(n) else i for n, i in zip(names, ids, strict=True)]


def item_label(dataset: Dataset, item_idx: int, *, with_id: bool = False) -> str:
    """The label of one item (the rule of :func:`item_labels`).

    With ``with_id``, a name is followed by the id in parentheses: ``"Energy gel (g1)"``.
    """
    item_id = str(dataset.item_ids.id(item_idx))
    cat = dataset.catalog
    name = cat["name"][int(item_idx)] if "name" in cat.columns else None
    if not _named(name):
        return item_id
    return f"{name} ({item_id})" if with_id else str(name)
