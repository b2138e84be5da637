"""Parameters declared once per class: one spec read by validation, ``get_params``, persistence and docs.

A model declares each hyper-parameter as a field with :func:`param`: its default, the constraint
it must meet and the sentence that documents it. :class:`Configurable` turns every subclass into a
keyword-only dataclass and reads that spec everywhere:

* validation -- at construction, in :meth:`Configurable.set_params`, before ``fit`` (the models
  call :meth:`Configurable.validate_params`) and at load (:mod:`recokit.persist`), always with
  the same wording: ``The 'k_neighbours' parameter of ItemKNN must be an int >= 1. Got 0 instead.``;
* :meth:`Configurable.get_params`, :meth:`Configurable.set_params`, :meth:`Configurable.clone`
  and ``repr``;
* :func:`params_table`, the markdown table of ``docs/models/*.md`` (regenerate them with
  ``python -m recokit.params --write-docs``).

Examples
--------
>>> class Toy(Configurable):
...     k: int = param(default=10, check=Interval(int, low=1), doc="How many.")
...     mode: str = param(default="fast", check=OneOf("fast", "exact"), doc="How.")
>>> Toy(k=3)
Toy(k=3, mode='fast')
>>> Toy(k=0)
Traceback (most recent call last):
...
recokit._errors.ConfigError: The 'k' parameter of Toy must be an int >= 1. Got 0 instead.
>>> Toy().set_params(mode="exact").get_params()
{'k': 10, 'mode': 'exact'}
>>> print(params_table(Toy))
| parameter | type | default | allowed | description |
|---|---|---|---|---|
| `k` | `int` | `10` | an int >= 1 | How many. |
| `mode` | `str` | `'fast'` | one of ['fast', 'exact'] | How. |
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import sys
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, dataclass_transform

import numpy as np

from recokit._errors import ConfigError, ConfigTypeError, ContractError

__all__ = [
    "Boolean",
    "Check",
    "Configurable",
    "Custom",
    "InstanceOf",
    "Interval",
    "OneOf",
    "Optional",
    "ParamInfo",
    "param",
    "params_table",
    "render_docs",
    "write_docs",
]

_META = "recokit"


def _fail(owner: str, name: str, rule: str, value: Any, *, wrong_type: bool = False) -> ConfigError:
    """The error of a value a constraint refuses; a :class:`~recokit.ConfigTypeError` (also a
    ``TypeError``) when the value is of the wrong type altogether."""
    cls = ConfigTypeError if wrong_type else ConfigError
    return cls(f"The '{name}' parameter of {owner} must be {rule}. Got {value!r} instead.")


class Check(Protocol):
    """What a constraint provides: a check raising :class:`~recokit.ConfigError`, and its text."""

    def check(self, owner: str, name: str, value: Any) -> None: ...

    def describe(self) -> str: ...


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    """A finite real number; booleans are never numbers."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        return False
    return math.isfinite(value)


@dataclass(frozen=True)
class Interval:
    """A finite int (``kind=int``) or real number (``kind=float``, ints accepted) within bounds.

    Bounds are inclusive unless ``low_open`` / ``high_open``. Booleans, NaN and infinities are
    always refused; numpy integer and floating scalars are accepted.

    >>> Interval(float, low=0, high=1, low_open=True).describe()
    'a number in (0, 1]'
    >>> Interval(int, low=1).check("ItemKNN", "k_neighbours", True)
    Traceback (most recent call last):
    ...
    recokit._errors.ConfigTypeError: The 'k_neighbours' parameter of ItemKNN must be an int >= 1. Got True instead.
    """

    kind: type[int] | type[float]
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (int, float):
            raise TypeError(f"Interval kind must be int or float, not {self.kind!r}.")

    def accepts(self, value: Any) -> bool:
        if not (_is_int(value) if self.kind is int else _is_number(value)):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )

    def check(self, owner: str, name: str, value: Any) -> None:
        if not self.accepts(value):
            not_a_number = isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            raise _fail(owner, name, self.describe(), value, wrong_type=not_a_number)

    def describe(self) -> str:
        kind = "an int" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            return f"{kind} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{kind} {'<' if self.high_open else '<='} {self.high:g}"
        return kind


@dataclass(frozen=True, init=False)
class OneOf:
    """One of the given values (same type and equal: ``True`` is not ``1``).

    >>> OneOf("max", "sum").describe()
    "one of ['max', 'sum']"
    """

    values: tuple[Any, ...]

    def __init__(self, *values: Any) -> None:
        if not values:
            raise TypeError("OneOf needs at least one value.")
        object.__setattr__(self, "values", values)

    def check(self, owner: str, name: str, value: Any) -> None:
        if not any(type(value) is type(v) and value == v for v in self.values):
            raise _fail(owner, name, self.describe(), value)

    def describe(self) -> str:
        return f"one of {list(self.values)!r}"


@dataclass(frozen=True, init=False)
class InstanceOf:
    """An instance of one of the given types (a bool counts as an int only if ``bool`` is listed).

    >>> InstanceOf(str).describe()
    'an instance of str'
    """

    types: tuple[type, ...]

    def __init__(self, *types: type) -> None:
        if not types:
            raise TypeError("InstanceOf needs at least one type.")
        object.__setattr__(self, "types", types)

    def check(self, owner: str, name: str, value: Any) -> None:
        ok = isinstance(value, self.types)
        if ok and isinstance(value, bool) and bool not in self.types:
            ok = False
        if not ok:
            raise _fail(owner, name, self.describe(), value, wrong_type=True)

    def describe(self) -> str:
        return "an instance of " + " or ".join(t.__name__ for t in self.types)


@dataclass(frozen=True)
class Optional:
    """``None``, or a value that ``inner`` accepts.

    >>> Optional(Interval(int, low=2)).describe()
    'an int >= 2 or None'
    """

    inner: Check

    def check(self, owner: str, name: str, value: Any) -> None:
        if value is None:
            return
        try:
            self.inner.check(owner, name, value)
        except ConfigError as exc:
            raise _fail(owner, name, self.describe(), value, wrong_type=isinstance(exc, ConfigTypeError)) from None

    def describe(self) -> str:
        return f"{self.inner.describe()} or None"


@dataclass(frozen=True)
class Boolean:
    """``True`` or ``False`` (a Python or numpy bool; never 0/1 or a string).

    >>> Boolean().describe()
    'a bool (True or False)'
    """

    def check(self, owner: str, name: str, value: Any) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise _fail(owner, name, self.describe(), value)

    def describe(self) -> str:
        return "a bool (True or False)"


@dataclass(frozen=True)
class Custom:
    """A constraint written as a predicate: ``func(value)`` returns whether ``value`` is valid.

    ``func`` may also raise :class:`~recokit.ConfigError` itself, with a more specific message.

    >>> positive_even = Custom(lambda v: isinstance(v, int) and v > 0 and v % 2 == 0, "an even int > 0")
    >>> positive_even.check("Toy", "n", 3)
    Traceback (most recent call last):
    ...
    recokit._errors.ConfigError: The 'n' parameter of Toy must be an even int > 0. Got 3 instead.
    """

    func: Callable[[Any], bool]
    description: str

    def check(self, owner: str, name: str, value: Any) -> None:
        if not self.func(value):
            raise _fail(owner, name, self.description, value)

    def describe(self) -> str:
        return self.description


@dataclass(frozen=True)
class ParamInfo:
    """One declared parameter, as :meth:`Configurable.param_spec` lists it.

    ``default`` is :data:`dataclasses.MISSING` for a required parameter; ``annotation`` is the
    type annotation as written in the class.
    """

    name: str
    default: Any
    check: Check | None
    doc: str
    annotation: str
    kw_only: bool

    @property
    def required(self) -> bool:
        return self.default is MISSING


def param(
    *, default: Any = MISSING, check: Check | None = None, doc: str = "", kw_only: bool = True
) -> Any:
    """Declare a parameter of a :class:`Configurable` class (a :func:`dataclasses.field`).

    Parameters
    ----------
    default : optional
        The default value (keyword-only, so that type checkers see it); none makes the
        parameter required. A mutable default (list, dict, set) is refused: use None or a tuple.
    check : constraint, optional
        An :class:`Interval`, :class:`OneOf`, :class:`InstanceOf`, :class:`Optional`,
        :class:`Boolean` or :class:`Custom`; None accepts anything.
    doc : str
        One or a few sentences for the documentation's parameter table.
    kw_only : bool
        False keeps the parameter positional (in declaration order), as a few models allow.

    Examples
    --------
    >>> param(default=[])
    Traceback (most recent call last):
    ...
    TypeError: param(): the default [] is mutable (shared by every instance); use None or a tuple.
    """
    if default is not MISSING and getattr(type(default), "__hash__", None) is None:
        raise TypeError(
            f"param(): the default {default!r} is mutable (shared by every instance); use None or a tuple."
        )
    info = ParamInfo(name="", default=default, check=check, doc=doc, annotation="", kw_only=kw_only)
    return dataclasses.field(default=default, kw_only=kw_only, metadata={_META: info})


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return re.match(r"^(typing\.)?ClassVar\b", annotation.strip()) is not None
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _check_declarations(cls: type) -> None:
    """Every annotated class attribute is a ``param(default=...)`` or a ``ClassVar`` (no accidental fields)."""
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        if not (isinstance(value, dataclasses.Field) and _META in value.metadata):
            raise ContractError(
                f"{cls.__qualname__}.{name} is annotated but not declared with param().",
                hint=f"declare a parameter as `{name}: {annotation} = param(default=..., check=..., doc=...)`, "
                    f"or a class constant as `{name}: ClassVar[{annotation}] = ...`."
            )


def _clone_value(value: Any) -> Any:
    if isinstance(value, Configurable):
        return value.clone()
    if type(value) is list:
        return [_clone_value(v) for v in value]
    if type(value) is tuple:
        return tuple(_clone_value(v) for v in value)
    if type(value) is dict:
        return {k: _clone_value(v) for k, v in value.items()}
    return value


@dataclass_transform(kw_only_default=True, field_specifiers=(param,))
class Configurable:
    """Base of every class configured by declared parameters (see :func:`param`).

    Each subclass becomes a keyword-only dataclass (``eq=False``: identity hashing stays;
    ``repr`` is this class's). A subclass that defines ``__init__`` in its body keeps it (and
    so do its subclasses); :meth:`get_params` then reads the constructor signature.
    """

    _custom_init: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_declarations(cls)
        if "__init__" in cls.__dict__:
            cls._custom_init = True
        dataclasses.dataclass(cls, init=not cls._custom_init, kw_only=True, eq=False, repr=False)

    def __post_init__(self) -> None:
        self.validate_params()

    # -- the spec --------------------------------------------------------------------------
    @classmethod
    def param_spec(cls) -> tuple[ParamInfo, ...]:
        """The declared parameters, in declaration order (base classes first).

        >>> class Toy(Configurable):
        ...     k: int = param(default=10, check=Interval(int, low=1), doc="How many.")
        >>> [(p.name, p.default, p.annotation, p.check.describe()) for p in Toy.param_spec()]
        [('k', 10, 'int', 'an int >= 1')]
        """
        out = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            info = f.metadata.get(_META)
            if info is None:  # pragma: no cover - excluded by _check_declarations
                continue
            annotation = f.type if isinstance(f.type, str) else inspect.formatannotation(f.type)
            kw_only = bool(f.kw_only) if f.kw_only is not MISSING else True
            out.append(
                dataclasses.replace(info, name=f.name, annotation=annotation, kw_only=kw_only)
            )
        return tuple(out)

    @classmethod
    def param_names(cls) -> list[str]:
        """The parameter names: the spec's, or the constructor's for a class with its own ``__init__``."""
        if cls._custom_init:
            sig = inspect.signature(cls.__init__)
            return [
                p.name
                for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
        return [p.name for p in cls.param_spec()]

    # -- reading and changing parameters ---------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The parameters (the whole config), values as given, in declaration order."""
        # the instance's own values: a deleted one must not read back as the class-level default
        return {n: self.__dict__[n] for n in self.param_names() if n in self.__dict__}

    def validate_params(self) -> None:
        """Raise :class:`~recokit.ConfigError` for the first parameter that breaks its constraint.

        Then runs ``_check_together()``, the hook for rules that involve several parameters.
        """
        owner = type(self).__name__
        for info in self.param_spec():
            if info.check is not None:
                info.check.check(owner, info.name, getattr(self, info.name))
        self._check_together()

    def _check_together(self) -> None:
        """Override for a rule that involves several parameters (raise ConfigError)."""

    def set_params(self, **params: Any) -> Self:
        """Change parameters and validate them; on any error nothing changes. Returns self.

        An unknown name is a :class:`~recokit.ConfigError` listing the known ones. (A fitted
        :class:`~recokit.Recommender` whose parameters change becomes unfitted: its state was
        learnt with the old values.)
        """
        names = self.param_names()
        unknown = [k for k in params if k not in names]
        owner = type(self).__name__
        if unknown:
            raise ConfigError(
                f"{owner} has no parameter {', '.join(map(repr, unknown))}.", hint=f"the parameters of {owner} are: {', '.join(names)}."
            )
        old = {k: self.__dict__[k] for k in params if k in self.__dict__}
        try:
            for k, v in params.items():
                setattr(self, k, v)
            self.validate_params()
        except BaseException:
            for k in params:
                if k in old:
                    setattr(self, k, old[k])
                else:
                    self.__dict__.pop(k, None)
            raise
        return self

    def clone(self) -> Self:
        """A new, unfitted instance with the same parameters (nested Configurables cloned too)."""
        return type(self)(**{k: _clone_value(v) for k, v in self.get_params().items()})

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


# -- documentation ----------------------------------------------------------------------------
def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def params_table(cls: type[Configurable]) -> str:
    """The markdown table of ``cls``'s declared parameters (no trailing newline).

    Columns: parameter, type (the annotation), default (``required`` when none), allowed (the
    constraint's :meth:`describe`, ``any`` without one) and description (the ``doc``).
    """
    rows = ["| parameter | type | default | allowed | description |", "|---|---|---|---|---|"]
    for p in cls.param_spec():
        default = "required" if p.required else f"`{p.default!r}`"
        allowed = p.check.describe() if p.check is not None else "any"
        rows.append(
            f"| `{p.name}` | `{_cell(p.annotation)}` | {_cell(default)} | {_cell(allowed)} | {_cell(p.doc)} |"
        )
    return "\n".join(rows)


#: ``<!-- params: ClassName -->`` ... ``<!-- /params -->``: the block :func:`render_docs` rewrites.
DOC_BLOCK = re.compile(r"(<!-- params: (\w+) -->\n)(.*?)(\n<!-- /params -->)", re.S)


def render_docs(text: str) -> str:
    """``text`` with every parameter block replaced by the current :func:`params_table`.

    A block names a class of the ``recokit`` namespace: ``<!-- params: ItemKNN -->``.
    """
    import recokit

    def table(m: re.Match[str]) -> str:
        cls = getattr(recokit, m.group(2), None)
        if not (isinstance(cls, type) and issubclass(cls, Configurable)):
            raise ConfigError(
                f"docs parameter block names {m.group(2)!r}, which is not a recokit Configurable class."
            )
        return m.group(1) + params_table(cls) + m.group(4)

    return DOC_BLOCK.sub(table, text)


def write_docs(folder: str | Path) -> list[Path]:
    """Regenerate the parameter blocks of every ``*.md`` file in ``folder``; the files changed."""
    changed = []
    for path in sorted(Path(folder).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        new = render_docs(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def _main(argv: list[str]) -> int:
    if not argv or argv[0] != "--write-docs" or len(argv) > 2:
        print(
            "usage: python -m recokit.params --write-docs [FOLDER]  (default: docs/models)",
            file=sys.stderr,
        )
        return 2
    from recokit.params import write_docs  # the imported module, not this __main__ copy of it

    for path in write_docs(argv[1] if len(argv) == 2 else "docs/models"):
        print(f"rewrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main(sys.argv[1:]))
