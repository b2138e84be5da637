"""The request a shop backend sends: :class:`Query` (validated once, immutable)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recokit._errors import ConfigError

__all__ = ["Query"]


def _as_tuple(value: Any, name: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, bytes)):
        raise ConfigError(
            f"Query.{name} must be a list of item ids; got the string {value!r}.", hint=f"wrap it in a list: {name}=[{value!r}]."
        )
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    try:
        return tuple(value)
    except TypeError:
        raise ConfigError(f"Query.{name} must be a list of item ids; got {type(value).__name__}.") from None


@dataclass(frozen=True)
class Query:
    """The context of one recommendation request.

    Parameters
    ----------
    customer_id : optional
        A customer of the fitted data: their history is looked up. An unknown or absent
        customer is an anonymous (cold-start) visitor, not an error.
    items : list of item ids
        Context items: the product on screen, the cart. Unknown items are ignored for scoring
        (and listed in :attr:`Context.unknown_items`), never an error.
    k : int
        How many recommendations (default 10).
    exclude : list of item ids
        Items never to return. Context items are always excluded too.
    now : datetime, optional
        The time of the request; defaults to the last timestamp of the fitted data, so that the
        same data gives the same answer (not the wall clock).
    exclude_purchased : bool
        Also exclude every item in the customer's history.

    Examples
    --------
    >>> Query(customer_id="C000042", k=5)
    Query(customer_id='C000042', items=(), k=5, exclude=(), now=None, exclude_purchased=False)
    >>> Query(items=["P0001", "P0002"]).items
    ('P0001', 'P0002')
    """

    customer_id: Hashable | None = None
    items: Sequence[Hashable] = ()
    k: int = 10
    exclude: Sequence[Hashable] = ()
    now: dt.datetime | None = None
    exclude_purchased: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", _as_tuple(self.items, "items"))
        object.__setattr__(self, "exclude", _as_tuple(self.exclude, "exclude"))
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ConfigError(f"Query.k must be an int >= 1. Got {self.k!r}.")
        object.__setattr__(self, "k", int(self.k))
        if not isinstance(self.exclude_purchased, (bool, np.bool_)):  # "no" would be truthy
            raise ConfigError(f"Query.exclude_purchased must be True or False. Got {self.exclude_purchased!r}.")
        object.__setattr__(self, "exclude_purchased", bool(self.exclude_purchased))
        if self.now is not None:
            if isinstance(self.now, dt.date) and not isinstance(self.now, dt.datetime):
                object.__setattr__(self, "now", dt.datetime.combine(self.now, dt.time()))
            elif not isinstance(self.now, dt.datetime):
                raise ConfigError(f"Query.now must be a datetime or date. Got {type(self.now).__name__}.")
            elif self.now.tzinfo is not None:
                naive = self.now.astimezone(dt.UTC).replace(tzinfo=None)
                object.__setattr__(self, "now", naive)
