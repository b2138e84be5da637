"""What a saved model directory is called and holds: the format tag, its version, the file names.

::

    model/
      manifest.json        format version and the SHA-256 and size of every other file: read
                           and checked first, before any other file is parsed
      model.json           format version, recokit version, every model's class name, its full
                           constructor parameters, a tagged description of its fitted state, and
                           the declared dtype and shape of every array, the row count and schema
                           of every frame
      arrays/a<n>.npy      one numpy array each (sparse matrices as their CSR/CSC/COO components)
      frames/f<n>.parquet  every polars DataFrame / Series (catalogue, interactions, rules table)

Nothing else may be in the directory, and nothing in it may be a symbolic link.
"""

from __future__ import annotations

import re

__all__ = ["ARRAYS", "FORMAT", "FORMAT_VERSION", "FRAMES", "MANIFEST", "MODEL_JSON", "array_file", "is_data_file"]

#: Version of the on-disk format written by :func:`recokit.save` and the only one
#: :func:`recokit.load` reads. 2: the manifest of hashes, one ``.npy`` file per array, the
#: declared arrays and frames in ``model.json`` (1: a single ``arrays.npz``, no manifest).
FORMAT_VERSION = 2
#: the ``format`` key of ``manifest.json`` and ``model.json``
FORMAT = "recokit-model"
MANIFEST = "manifest.json"
MODEL_JSON = "model.json"
#: the folder of the array files
ARRAYS = "arrays"
#: the folder of the Parquet files
FRAMES = "frames"

_DATA_FILE = re.compile(rf"(?:{re.escape(MODEL_JSON)}|{ARRAYS}/a[0-9]+\.npy|{FRAMES}/f[0-9]+\.parquet)")


def array_file(key: str) -> str:
    """The file (relative to the model directory) of the array ``key``.

    >>> array_file("a3")
    'arrays/a3.npy'
    """
    return f"{ARRAYS}/{key}.npy"


def is_data_file(name: str) -> bool:
    """Whether ``name`` (relative, ``/``-separated) is a file a saved model may hold besides the manifest.

    >>> [is_data_file(n) for n in ("model.json", "arrays/a0.npy", "frames/f12.parquet", "frames/../x.parquet")]
    [True, True, True, False]
    """
    return _DATA_FILE.fullmatch(name) is not None
