"""The classes a saved file may name: looked up here by name, never imported from the file.

:data:`MODELS` is recokit's fixed set of models. :data:`DATACLASSES` is read live from
:data:`recokit.rules.RULE_TYPES` (each rule type under its class name) plus ContentBased's
column block, so a rule type registered with :func:`recokit.rules.register` is saveable and
loadable without touching this package.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import recokit.models as _models
from recokit._errors import PersistError
from recokit.core import Recommender
from recokit.hybrid import Hybrid
from recokit.models.content import ColumnBlock
from recokit.rules import RULE_TYPES, Ruled

__all__ = ["DATACLASSES", "MODELS", "dataclass_name"]

#: The only model classes a saved file may name.
MODELS: dict[str, type[Recommender]] = {name: getattr(_models, name) for name in _models.__all__} | {"Hybrid": Hybrid, "Ruled": Ruled}

#: Dataclasses other than rules, under the names saved files give them (their class names; format
#: version 1 called ColumnBlock "ContentBased._Block", and version 1 files are not loaded).
_OTHER_DATACLASSES: dict[str, type] = {"ColumnBlock": ColumnBlock}


class _Dataclasses(Mapping[str, type]):
    """Name -> class of every dataclass a saved file may name, read from RULE_TYPES at each use."""

    def _current(self) -> dict[str, type]:
        out = dict(_OTHER_DATACLASSES)
        for cls in RULE_TYPES.values():
            other = out.setdefault(cls.__name__, cls)
            if other is not cls:
                raise PersistError(
                    f"two classes would be saved under the name {cls.__name__!r}: "
                    f"{other.__module__}.{other.__qualname__} and {cls.__module__}.{cls.__qualname__}.",
                    hint="give one of the rule classes another name.",
                )
        return out

    def __getitem__(self, name: str) -> type:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


#: The only dataclasses a saved file may name: every registered rule type and ContentBased's
#: column blocks.
DATACLASSES: Mapping[str, type] = _Dataclasses()


def dataclass_name(cls: type) -> str | None:
    """The name a saved file gives the dataclass ``cls``; None if it may not be saved.

    Examples
    --------
    >>> from recokit.rules import Filter
    >>> dataclass_name(Filter)
    'Filter'
    >>> dataclass_name(int) is None
    True
    """
    return next((name for name, c in DATACLASSES.items() if c is cls), None)
