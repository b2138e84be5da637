"""Save a fitted model to a directory and load it in another process -- without pickle.

``recokit.save(model, path)`` writes a directory of JSON, ``.npz`` and Parquet files;
``recokit.load(path)`` rebuilds the model (see ``docs/persistence.md``). One job per module:

* :mod:`~recokit.persist.layout` -- the format tag, its version and the file names;
* :mod:`~recokit.persist.registry` -- the only classes a saved file may name;
* :mod:`~recokit.persist.codec` -- values to tagged JSON (plus arrays and frames) and back;
* :mod:`~recokit.persist.store` -- :func:`save` and :func:`load`: the directory, written under a
  temporary name and renamed into place, and the checks on what is read back.
"""

from recokit._errors import PersistError
from recokit.persist.layout import FORMAT_VERSION
from recokit.persist.store import load, save

__all__ = ["FORMAT_VERSION", "PersistError", "load", "save"]
