"""What several commands share: the column names (the flags, or a pipeline file's ``[data]``) and
the notes that say what loading and fitting dropped or reduced."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from recokit._errors import ConfigError, RecokitWarning

__all__ = ["column_names", "notes"]


def column_names(args: argparse.Namespace, flags: Sequence[str], pipeline: Any, only: Sequence[str] | None = None) -> dict[str, Any]:
    """The columns to read: the flags given (default ``customer_id``, ``item_id``), or the pipeline
    file's ``[data]`` (its keys in ``only`` when given) -- never both."""
    given = {k: getattr(args, k) for k in flags if getattr(args, k) is not None}
    if pipeline is None:
        return {"customer_col": "customer_id", "item_col": "item_id"} | given
    if given:
        names = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ConfigError(f"{names} and --pipeline: the pipeline file's [data] names the columns.", hint=f"set them in [data] of {args.pipeline}.")
    return {k: v for k, v in pipeline.data.items() if only is None or k in only}


@contextmanager
def notes(out: TextIO) -> Iterator[None]:
    """The warnings raised inside (rows dropped, columns reduced, models that learnt little),
    printed to ``out`` as notes when the block ends: said, never silent, never a Python warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RecokitWarning)
        yield
    for w in caught:
        print(f"note: {w.message}", file=out)
