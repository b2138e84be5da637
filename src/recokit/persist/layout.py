"""What a saved model directory is called and holds: the format tag, its version, the file names.

::

    model/
      model.json           format version, recokit version, every model's class name, its full
                           constructor parameters and a tagged description of its fitted state
      arrays.npz           every numpy array (sparse matrices as their CSR/CSC/COO components)
      frames/f<n>.parquet  every polars DataFrame / Series (catalogue, interactions, rules table)
"""

from __future__ import annotations

__all__ = ["ARRAYS", "FORMAT", "FORMAT_VERSION", "FRAMES", "MODEL_JSON"]

#: Version of the on-disk format written by :func:`recokit.save` and the only one
#: :func:`recokit.load` reads.
FORMAT_VERSION = 1
#: the ``format`` key of ``model.json``
FORMAT = "recokit-model"
MODEL_JSON = "model.json"
ARRAYS = "arrays.npz"
#: the folder of the Parquet files, the only place a saved value may point to
FRAMES = "frames"
