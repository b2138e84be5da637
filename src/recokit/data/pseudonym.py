"""Pseudonymised ids: a shop's customer ids replaced by keyed hashes before recokit sees them.

A shop that does not want real customer ids in its fitted (and saved) models, its logs or its
exports replaces them by :func:`pseudonymise` in every table before building the
:class:`~recokit.Dataset`; recommendations then answer with the pseudonyms, and the shop maps
them back with its own table ``real id -> pseudonym`` (``docs/data.md``, "Pseudonymised ids").

Examples
--------
>>> import polars as pl
>>> from recokit import pseudonymise
>>> key = bytes(range(32))                     # a real key: secrets.token_bytes(32), kept secret
>>> orders = pl.DataFrame({"customer_id": [7, 7, 8], "item_id": ["bike", "helmet", "bike"]})
>>> pseudonymise(orders, "customer_id", key)["customer_id"].str.head(12).to_list()
['43c875c1027e', '43c875c1027e', '11632d1a5644']
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TypeVar

import polars as pl

from recokit._errors import ConfigError, ConfigTypeError, DataError

__all__ = ["MIN_KEY_BYTES", "pseudonymise"]

#: the shortest key :func:`pseudonymise` accepts (128 bits)
MIN_KEY_BYTES = 16

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _check_key(key: object) -> bytes:
    if isinstance(key, str):
        raise ConfigTypeError(
            "pseudonymise's key must be bytes, not a str (a str has no single byte form: 'ab12' as text and as hex differ).",
            hint="generate one with secrets.token_bytes(32); store it as hex and pass bytes.fromhex(stored).",
        )
    if not isinstance(key, (bytes, bytearray)):
        raise ConfigTypeError(f"pseudonymise's key must be bytes. Got {type(key).__name__}.", hint="generate one with secrets.token_bytes(32).")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"pseudonymise's key must be at least {MIN_KEY_BYTES} bytes. Got {len(key)}.",
            hint="a short key can be found by trying them all; generate one with secrets.token_bytes(32) and keep it secret.",
        )
    return bytes(key)


def _check_column(schema: pl.Schema, column: str) -> None:
    if column not in schema:
        raise DataError(f"pseudonymise: no column {column!r}; the columns are {list(schema)}.", column=column)
    dtype = schema[column]
    if not (dtype.is_integer() or dtype in (pl.String, pl.Categorical, pl.Null) or isinstance(dtype, pl.Enum)):
        raise DataError(
            f"pseudonymise: column {column!r} is {dtype}; ids must be integers or text.",
            column=column,
            hint=f"cast it first (pl.col({column!r}).cast(pl.Int64) or .cast(pl.String)); a float id would be hashed as '7.0', not '7'.",
        )


def _hmac_series(ids: pl.Series, key: bytes) -> pl.Series:
    """HMAC-SHA256 hex of each id's text, computed once per distinct id; nulls stay null."""
    text = ids.cast(pl.String)
    distinct = text.drop_nulls().unique()
    keyed = hmac.new(key, digestmod=hashlib.sha256)  # the key's pads computed once, copied per id
    digests = []
    for value in distinct.to_list():
        h = keyed.copy()
        h.update(value.encode("utf-8"))
        digests.append(h.hexdigest())
    return text.replace_strict(distinct, pl.Series(digests, dtype=pl.String), return_dtype=pl.String)


def pseudonymise(frame: Frame, column: str, key: bytes) -> Frame:
    """``frame`` with the ids in ``column`` replaced by their HMAC-SHA256 under ``key`` (64 hex characters).

    The pseudonym of an id is ``hmac.new(key, str(id).encode("utf-8"), hashlib.sha256).hexdigest()``:

    * **the same key gives the same pseudonym**, in every table and every night: pseudonymise the
      orders and the customers tables (and tomorrow's orders) with one key and they still join;
    * without the key a pseudonym cannot be linked back to its id (nor computed from a guessed
      id): **keep the key secret**, out of the saved models and the code, and at least
      :data:`MIN_KEY_BYTES` (16) bytes long (``secrets.token_bytes(32)``); a new key gives every
      customer a new pseudonym (refit after changing it);
    * **an id is hashed by its text**, so the integer ``7`` and the string ``"7"`` get the same
      pseudonym. That is on purpose: one column holds one type, so two customers never collide,
      and a shop whose orders hold integer ids and whose customers file (read from CSV) holds
      the same ids as text still gets tables that join. The reverse: ``"007"`` and ``7`` differ;
      normalise ids that are written differently before pseudonymising. Floats are refused
      (``7.0`` would be hashed as ``"7.0"``).

    Nulls stay null (a guest's order line stays anonymous; :class:`~recokit.Dataset` reports
    null customer ids as it would have before). Works on a ``LazyFrame`` too, lazily. Each
    distinct id is hashed once (about a million per second).

    Parameters
    ----------
    frame : polars DataFrame or LazyFrame
        Any table holding ids: order lines, customers, a newsletter list.
    column : str
        The id column; integers, strings, Categorical or Enum. Replaced by a String column of
        the same name, in the same place.
    key : bytes
        The shop's secret key, at least 16 bytes.

    Returns
    -------
    polars DataFrame or LazyFrame
        Of the same kind as ``frame``, the other columns unchanged.

    Raises
    ------
    ConfigError
        ``key`` is shorter than 16 bytes (``ConfigTypeError`` if it is not bytes, e.g. a str).
    DataError
        ``column`` is missing, or not of an integer or text type.

    Examples
    --------
    >>> import hashlib, hmac
    >>> import polars as pl
    >>> from recokit import pseudonymise
    >>> key = bytes.fromhex("8f1c2a9d4b7e6f305a1c9e2d7b4f8a6c")   # yours: secrets.token_bytes(32)
    >>> orders = pl.DataFrame({"customer_id": [7, 7, 8, None], "item_id": ["bike", "helmet", "bike", "pump"]})
    >>> out = pseudonymise(orders, "customer_id", key)
    >>> out.columns, out["customer_id"].str.len_chars().to_list()
    (['customer_id', 'item_id'], [64, 64, 64, None])
    >>> out["customer_id"][0] == hmac.new(key, b"7", hashlib.sha256).hexdigest()
    True
    >>> customers = pl.DataFrame({"customer_id": ["7", "8"]})              # the same ids, as text
    >>> pseudonymise(customers, "customer_id", key)["customer_id"].to_list() == out["customer_id"][[0, 2]].to_list()
    True
    """
    raw_key = _check_key(key)
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        raise ConfigTypeError(f"pseudonymise expects a polars DataFrame or LazyFrame. Got {type(frame).__name__}.", hint="convert it first: pl.from_pandas(df) or pl.from_arrow(table).")
    if not isinstance(column, str):
        raise ConfigTypeError(f"pseudonymise's column must be a column name (str). Got {column!r}.")
    _check_column(frame.collect_schema(), column)
    expr = pl.col(column).map_batches(lambda s: _hmac_series(s, raw_key), return_dtype=pl.String, is_elementwise=True)
    return frame.with_columns(expr)
