"""Arrays on disk, and the structure of sparse matrices read back.

Each array is one ``.npy`` file written by :func:`numpy.save` (``allow_pickle=False``), so a
data person can open it with ``numpy.load``. :func:`read_array` does not hand the file to numpy:
it parses the small header itself (a strict pattern, no ``literal_eval``), refuses object and
structured dtypes, checks that the declared shape times the item size is exactly the number of
bytes that follow the header, and only then allocates the array and reads into it. A 2 MB file
declaring a 2 GB shape is refused before anything is allocated.

:func:`check_compressed` and :func:`check_coo` check what scipy's constructors do not fully
check: index arrays of an integer type, indices within the shape, ``indptr`` starting at 0,
never decreasing and ending at the number of stored values, lengths consistent, and (for a
matrix saved in canonical form) indices strictly increasing within each row.
"""

from __future__ import annotations

import math
import re
from io import BufferedReader
from pathlib import Path
from typing import Any

import numpy as np

from recokit.persist.manifest import damaged

__all__ = ["ARRAY_KINDS", "MAX_HEADER_BYTES", "check_compressed", "check_coo", "read_array", "write_array"]

#: the dtype kinds an array file may hold: bool, integers, floats, complex, text, bytes, datetimes
ARRAY_KINDS = "biufcUSMm"
#: numpy writes headers of ~128 bytes for the arrays recokit saves; a longer one is refused unread
MAX_HEADER_BYTES = 4096
_MAGIC = b"\x93NUMPY"
_HEADER = re.compile(
    r"\{'descr': '(?P<descr>[<>|=]?[a-zA-Z][0-9]{0,10}(?:\[[0-9]*[a-zA-Z]{1,3}\])?)', "
    r"'fortran_order': (?P<fortran>True|False), "
    r"'shape': \((?P<shape>(?:[0-9]{1,19}, )*(?:[0-9]{1,19},?)?)\), \} *\n"
)


def write_array(file: Path, a: np.ndarray) -> None:
    """``a`` as the ``.npy`` file ``file`` (never pickled)."""
    np.save(file, a, allow_pickle=False)


def _header(fh: BufferedReader, file: Path) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, fortran order, header length in bytes) of an ``.npy`` file, parsed strictly."""
    magic = fh.read(8)
    if len(magic) != 8 or magic[:6] != _MAGIC or magic[6] not in (1, 2) or magic[7] != 0:
        raise damaged(file, "not a numpy .npy file of format 1.0 or 2.0.")
    width = 2 if magic[6] == 1 else 4
    raw = fh.read(width)
    n = int.from_bytes(raw, "little") if len(raw) == width else -1
    if not 0 < n <= MAX_HEADER_BYTES:
        raise damaged(file, f"the array header is {n} bytes; recokit reads headers of at most {MAX_HEADER_BYTES}.")
    text = fh.read(n)
    m = _HEADER.fullmatch(text.decode("latin-1")) if len(text) == n else None
    if m is None:
        raise damaged(file, "the array header is not one numpy.save writes for a plain array.")
    try:
        dtype = np.dtype(m["descr"])
    except (TypeError, ValueError):
        raise damaged(file, f"unknown array dtype {m['descr']!r}.") from None
    if dtype.kind not in ARRAY_KINDS or dtype.hasobject or dtype.fields is not None or dtype.itemsize == 0:
        raise damaged(file, f"arrays of dtype {m['descr']!r} are not loaded (object, structured and empty types never are).")
    shape = tuple(int(s) for s in m["shape"].replace(",", " ").split())
    return dtype, shape, m["fortran"] == "True", 8 + width + n


def read_array(fh: BufferedReader, file: Path, size: int, declared: Any) -> np.ndarray:
    """The array in the open ``.npy`` file ``fh`` of ``size`` bytes, checked against the header and ``declared``.

    ``declared`` is the array's entry in ``model.json``: ``{"dtype": "<f8", "shape": [3, 4]}``.
    Nothing is allocated before the header's shape times the item size is found to equal the
    bytes that follow it.
    """
    dtype, shape, fortran, offset = _header(fh, file)
    if not (isinstance(declared, dict) and declared.get("dtype") == dtype.str and declared.get("shape") == list(shape)):
        raise damaged(file, f"holds a {dtype.str} array of shape {list(shape)}, model.json declares {declared!r}: the files were swapped or edited.")
    count = math.prod(shape)
    if count * dtype.itemsize != size - offset:
        raise damaged(
            file,
            f"its header declares {count} values of {dtype.itemsize} bytes (shape {list(shape)}), "
            f"but {size - offset} bytes follow the header: the file was cut or its header edited.",
        )
    out = np.empty(count, dtype=dtype)
    view = out.view(np.uint8)  # datetime64 arrays have no buffer of their own
    if fh.readinto(view.data) != view.nbytes:
        raise damaged(file, "the file ended before the array did.")
    out = out.reshape(shape, order="F" if fortran else "C")
    return out if dtype.isnative else out.astype(dtype.newbyteorder("="))


def _check_index(a: np.ndarray, bound: int, what: str, file: Any) -> None:
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise damaged(file, f"{what} must be a 1-d integer array; got {a.dtype} of shape {list(a.shape)}.")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= bound):
        raise damaged(file, f"{what} holds values outside [0, {bound}) (min {int(a.min())}, max {int(a.max())}).")


def _check_data(data: np.ndarray, n: int, file: Any) -> None:
    if data.ndim != 1 or data.dtype.kind not in "biufc":
        raise damaged(file, f"the stored values must be a 1-d numeric array; got {data.dtype} of shape {list(data.shape)}.")
    if len(data) != n:
        raise damaged(file, f"{len(data)} stored values for {n} indices.")


def check_compressed(shape: tuple[int, int], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, *, by_rows: bool, canonical: bool, file: Any) -> None:
    """Raise PersistError (naming ``file``) unless (data, indices, indptr) is a valid CSR (``by_rows``) or CSC matrix of ``shape``.

    With ``canonical``, the indices must also be strictly increasing within each row (column):
    sorted and without duplicates, as recokit's request code assumes of a canonical matrix.
    """
    major, minor = shape if by_rows else shape[::-1]
    if indptr.ndim != 1 or indptr.dtype.kind not in "iu" or len(indptr) != major + 1:
        raise damaged(file, f"indptr must be a 1-d integer array of length {major + 1}; got {indptr.dtype} of shape {list(indptr.shape)}.")
    nnz = len(indices)
    if int(indptr[0]) != 0 or int(indptr[-1]) != nnz:
        raise damaged(file, f"indptr must start at 0 and end at the number of indices ({nnz}); it runs from {int(indptr[0])} to {int(indptr[-1])}.")
    steps = np.diff(indptr)
    if steps.size and int(steps.min()) < 0:
        raise damaged(file, f"indptr decreases (first at position {int(np.argmax(steps < 0))}); it must never decrease.")
    _check_index(indices, minor, "indices", file)
    _check_data(data, nnz, file)
    if canonical and nnz > 1:
        within = np.ones(nnz - 1, dtype=bool)  # pairs (j - 1, j) inside one row
        starts = indptr[1:-1]
        starts = starts[(starts > 0) & (starts < nnz)]
        within[starts - 1] = False
        if np.any((np.diff(indices.astype(np.int64)) <= 0) & within):
            raise damaged(file, "the matrix was saved canonical, but its indices are not strictly increasing within a row.")


def check_coo(shape: tuple[int, int], data: np.ndarray, row: np.ndarray, col: np.ndarray, *, file: Any) -> None:
    """Raise PersistError (naming ``file``) unless (data, (row, col)) is a valid COO matrix of ``shape``."""
    _check_index(row, shape[0], "row", file)
    _check_index(col, shape[1], "col", file)
    if len(row) != len(col):
        raise damaged(file, f"{len(row)} row indices for {len(col)} column indices.")
    _check_data(data, len(row), file)
