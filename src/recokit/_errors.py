"""recokit's exceptions and warnings.

Every error recokit raises on purpose derives from :class:`RecokitError`, so a shop backend can
catch the library's problems in one ``except`` clause::

    RecokitError (Exception)
    ├── DataError (+ ValueError)          bad input data: missing column, null ids, ...
    ├── ConfigError (+ ValueError)        a bad constructor / function parameter
    │   └── ConfigTypeError (+ TypeError) ... of the wrong type ("42" where ids are integers)
    ├── RuleError (+ ValueError)          a business rule that cannot be loaded or applied
    ├── PersistError                      a saved model that cannot be written or read back
    ├── NotFittedError (+ RuntimeError)   a model used before ``fit``
    ├── ContractError (+ TypeError)       a model's hook broke the Recommender contract
    └── DependencyError (+ RuntimeError)  a library recokit calls is missing or changed its API

    RecokitWarning (UserWarning)
    ├── DataWarning                       data was changed on purpose (rows dropped, ...):
    │                                     the message always says how many rows
    └── PerformanceWarning                an input forced a slow path

Messages say what is wrong, where, and how to fix it, the last part on a line starting with
``Hint:``. Errors also carry structured fields a backend can branch on: ``hint``, ``column``,
``rows`` (how many rows), ``rule`` (a rule's name), each None when it does not apply.

Examples
--------
>>> err = DataError("column 'qty' has 3 negative values", column="qty", rows=3, hint="drop returns first.")
>>> print(err)
column 'qty' has 3 negative values
Hint: drop returns first.
>>> err.column, err.rows, err.hint
('qty', 3, 'drop returns first.')
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConfigTypeError",
    "ContractError",
    "DataError",
    "DataWarning",
    "DependencyError",
    "NotFittedError",
    "PerformanceWarning",
    "PersistError",
    "RecokitError",
    "RecokitWarning",
    "RuleError",
]


class RecokitError(Exception):
    """Base class of every error raised on purpose by recokit.

    Parameters
    ----------
    message : str
        What is wrong and where.
    hint : str, optional
        How to fix it (shown on a line ``Hint: ...``).
    column, rows, rule : optional
        The column concerned, how many rows, the rule's name.
    """

    def __init__(self, message: str = "", *, hint: str | None = None, column: str | None = None, rows: int | None = None, rule: str | None = None) -> None:
        self.message = message
        self.hint = hint
        self.column = column
        self.rows = rows
        self.rule = rule
        super().__init__(f"{message}\nHint: {hint}" if hint else message)


class DataError(RecokitError, ValueError):
    """Input data that recokit cannot use as given (the message names the column and rows)."""


class ConfigError(RecokitError, ValueError):
    """A parameter outside its allowed range or of the wrong type."""


class ConfigTypeError(ConfigError, TypeError):
    """A parameter of the wrong type (also a :class:`TypeError`)."""


class RuleError(RecokitError, ValueError):
    """A business rule that is malformed: unknown type, unknown column, bad expression, ..."""


class PersistError(RecokitError):
    """A model that cannot be saved without pickle, or a saved model that cannot be loaded
    (unknown class, other format version, missing or tampered file); the message names the part."""


class NotFittedError(RecokitError, RuntimeError):
    """A model was asked for recommendations before ``fit`` was called."""


class ContractError(RecokitError, TypeError):
    """A model's hook returned something the :class:`~recokit.Recommender` contract forbids
    (a score block of the wrong shape, a reason list of the wrong length, ...)."""


class DependencyError(RecokitError, RuntimeError):
    """A library recokit calls through an adapter (implicit, scikit-learn, matplotlib, pytest) is
    missing, of an unsupported version, or answered in a shape recokit does not expect."""


class RecokitWarning(UserWarning):
    """Base class of every warning recokit issues."""


class DataWarning(RecokitWarning):
    """Data was dropped or changed under an explicit policy; the message says how much."""


class PerformanceWarning(RecokitWarning):
    """An input forced a slow conversion; the message says how to avoid it."""
