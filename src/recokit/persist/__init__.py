"""Save a fitted model to a directory and load it in another process -- without pickle.

``recokit.save(model, path)`` writes a directory of JSON, ``.npy`` and Parquet files with a
manifest of their SHA-256 hashes; ``recokit.load(path)`` checks every file against it, then
rebuilds the model (see ``docs/persistence.md``). One job per module:

* :mod:`~recokit.persist.layout` -- the format tag, its version and the file names;
* :mod:`~recokit.persist.manifest` -- the hashes: written last at save, checked first at load
  (no links, nothing missing or extra, every size and SHA-256);
* :mod:`~recokit.persist.arrays` -- one ``.npy`` file per array, read only after its header is
  checked against the file's size; the structure of sparse matrices;
* :mod:`~recokit.persist.registry` -- the only classes a saved file may name;
* :mod:`~recokit.persist.codec` -- values to tagged JSON (plus arrays and frames) and back;
* :mod:`~recokit.persist.store` -- :func:`save` and :func:`load`: the directory, written under a
  temporary name and swapped into place, and the checks on what is read back.
"""

from recokit._errors import PersistError
from recokit.persist.layout import FORMAT_VERSION
from recokit.persist.store import load, save

__all__ = ["FORMAT_VERSION", "PersistError", "load", "save"]
