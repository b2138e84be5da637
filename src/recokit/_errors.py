"""recokit's exceptions and warnings.

Every error recokit raises on purpose derives from :class:`RecokitError`, so a
shop backend can catch the library's problems in one ``except`` clause::

    RecokitError (Exception)
    ├── DataError (+ ValueError)        bad input data: missing column, null ids, ...
    │   └── PersistError                a saved model that cannot be written or read back
    ├── ConfigError (+ ValueError)      a bad constructor / function parameter
    ├── RuleError (+ ValueError)        a business rule that cannot be loaded or applied
    └── NotFittedError (+ RuntimeError) a model used before ``fit``

    DataWarning (UserWarning)           data was changed on purpose (rows dropped, ...):
                                        the message always says how many rows
    PerformanceWarning (UserWarning)    an input forced a slow path

Messages say what is wrong, where, and how to fix it, the last part on a line
starting with ``Hint:``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DataWarning",
    "NotFittedError",
    "PerformanceWarning",
    "PersistError",
    "RecokitError",
    "RuleError",
]


class RecokitError(Exception):
    """Base class of every error raised on purpose by recokit."""


class DataError(RecokitError, ValueError):
    """Input data that recokit cannot use as given (the message names the column and rows)."""


class PersistError(DataError):
    """A model that cannot be saved without pickle, or a saved model that cannot be loaded
    (unknown class, other format version, missing or tampered file); the message names the part."""


class ConfigError(RecokitError, ValueError):
    """A parameter outside its allowed range or of the wrong type."""


class RuleError(RecokitError, ValueError):
    """A business rule that is malformed: unknown type, unknown column, bad expression, ..."""


class NotFittedError(RecokitError, RuntimeError):
    """A model was asked for recommendations before ``fit`` was called."""


class DataWarning(UserWarning):
    """Data was dropped or changed under an explicit policy; the message says how much."""


class PerformanceWarning(UserWarning):
    """An input forced a slow conversion; the message says how to avoid it."""


def _hint(message: str, hint: str | None) -> str:
    return f"{message}\nHint: {hint}" if hint else message
