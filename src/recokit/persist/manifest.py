"""The manifest: the SHA-256 and size of every file of a saved model, written last, checked first.

:func:`write_manifest` hashes the files :func:`recokit.save` has just written (flushing each to
disk on the way) and writes ``manifest.json``. :func:`verify` is the first thing
:func:`recokit.load` does: before any other file is parsed it checks that the directory and
everything in it are real directories and regular files (no symbolic links), that it holds
exactly the files the manifest lists (nothing missing, nothing extra), and that each one has the
listed size and SHA-256. The files stay open (:class:`Verified`), so what is parsed afterwards
is what was checked, even if a file is replaced by another one at the same path meanwhile.

A manifest detects a damaged, cut, swapped, edited, missing or added file. It is not a
signature: whoever can write the directory can also write a new manifest, so keep saved models
where only the nightly job can write (``docs/persistence.md``, "What load guarantees").
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from contextlib import ExitStack
from io import BufferedReader
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from recokit._errors import PersistError
from recokit.persist.layout import (
    ARRAYS,
    FORMAT,
    FORMAT_VERSION,
    FRAMES,
    MANIFEST,
    MODEL_JSON,
    is_data_file,
)

__all__ = ["MAX_MANIFEST_BYTES", "Verified", "damaged", "fsync_directory", "verify", "write_manifest"]

#: a manifest larger than this is refused before it is read (a real one lists a few dozen files)
MAX_MANIFEST_BYTES = 4 * 2**20
_CHUNK = 2**20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows: there the lstat checks below stand alone
_HEX = frozenset("0123456789abcdef")
_HINT = "the saved model is damaged, incomplete or was edited; save it again from the fitted model."


def damaged(file: Path | str, message: str) -> PersistError:
    """The error for a saved model's ``file`` (a path, or a description naming the files) that is not as
    :func:`recokit.save` wrote it."""
    return PersistError(f"{file}: {message}", hint=_HINT)


# ------------------------------------------------------------------------------------------
# saving
# ------------------------------------------------------------------------------------------
def _hash(fh: IO[bytes]) -> tuple[int, str]:
    """(size, SHA-256 hex) of an open file, read in chunks (no allocation beyond one chunk)."""
    h, size = hashlib.sha256(), 0
    while chunk := fh.read(_CHUNK):
        h.update(chunk)
        size += len(chunk)
    return size, h.hexdigest()


def _data_files(directory: Path) -> list[str]:
    """The files under ``directory`` as ``/``-separated relative names, sorted."""
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def fsync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries (new names, renames) to disk; a no-op where directories cannot be opened (Windows)."""
    if os.name == "nt":  # pragma: no cover - no directory fsync on Windows
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(directory: Path, recokit_version: str) -> None:
    """Hash every file written into ``directory`` (flushing it to disk) and write ``manifest.json`` last."""
    files: dict[str, dict[str, Any]] = {}
    for name in _data_files(directory):
        if not is_data_file(name):  # save writes only the layout's files: a new one must be taught to layout.py
            raise PersistError(f"cannot save: {name!r} is not a file of the model layout (recokit.persist.layout).")
        with open(directory / name, "rb") as fh:
            size, digest = _hash(fh)
            os.fsync(fh.fileno())
        files[name] = {"bytes": size, "sha256": digest}
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "recokit_version": recokit_version, "files": files}
    with open(directory / MANIFEST, "w", encoding="utf-8") as out:
        out.write(json.dumps(doc, indent=1, ensure_ascii=False))
        out.flush()
        os.fsync(out.fileno())
    for sub in (directory / ARRAYS, directory / FRAMES, directory):
        if sub.is_dir():
            fsync_directory(sub)


# ------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------
class Verified:
    """The files of a saved model, each checked against the manifest and held open until :meth:`close`.

    :attr:`manifest` is the parsed ``manifest.json``; :meth:`open` gives a checked file
    (rewound), :meth:`read` its bytes, :meth:`size` its size.
    """

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        self.directory = directory
        self.manifest = manifest
        self._files: dict[str, BufferedReader] = {}
        self._stack = ExitStack()

    def __enter__(self) -> Verified:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    @property
    def names(self) -> list[str]:
        """The checked files (relative names, the manifest aside)."""
        return sorted(self._files)

    def add(self, name: str, fh: BufferedReader) -> None:
        self._files[name] = self._stack.enter_context(fh)

    def open(self, name: str) -> BufferedReader:
        """The checked file ``name``, rewound; a name the manifest does not list is a PersistError."""
        fh = self._files.get(name)
        if fh is None:
            raise damaged(self.directory / name, f"the file is not listed in {MANIFEST}.")
        fh.seek(0)
        return fh

    def read(self, name: str) -> bytes:
        return self.open(name).read()

    def size(self, name: str) -> int:
        return int(self.manifest["files"][name]["bytes"])


def verify(directory: Path) -> Verified:
    """Check ``directory`` against its manifest before anything else is read (see the module docstring).

    Raises :class:`~recokit.PersistError` naming the file: a symbolic link, a file that is
    missing, extra, of another size or another SHA-256, a manifest of an unknown format version.
    """
    _check_is_directory(directory)
    manifest = _read_manifest(directory)
    found = _listing(directory)
    listed = set(manifest["files"])
    missing, extra = sorted(listed - found), sorted(found - listed)
    if missing:
        raise damaged(directory / missing[0], f"the file is missing ({len(missing)} file(s) listed in {MANIFEST} are: {missing[:5]}).")
    if extra:
        raise damaged(directory / extra[0], f"the file is not listed in {MANIFEST} ({len(extra)} unlisted file(s): {extra[:5]}); a saved model holds only what save wrote.")
    out = Verified(directory, manifest)
    try:
        for name in sorted(listed):
            out.add(name, _open_checked(directory, name, manifest["files"][name]))
    except BaseException:
        out.close()
        raise
    return out


def _check_is_directory(directory: Path) -> None:
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        raise PersistError(f"{str(directory)!r} is not a saved recokit model (no such directory).", hint="give the directory written by recokit.save.") from None
    if stat.S_ISLNK(st.st_mode):
        raise PersistError(
            f"{directory}: is a symbolic link; recokit loads a saved model only from a real directory.",
            hint="if you own the link (a versioned deployment switching a link), load the directory it points to: "
            "recokit.load(Path(path).resolve()).",
        )
    if not stat.S_ISDIR(st.st_mode):
        raise PersistError(f"{str(directory)!r} is not a saved recokit model (not a directory).", hint="give the directory written by recokit.save.")


def _read_manifest(directory: Path) -> dict[str, Any]:
    file = directory / MANIFEST
    try:
        st = os.lstat(file)
    except FileNotFoundError:
        if (directory / MODEL_JSON).is_file() and (directory / "arrays.npz").is_file():
            raise PersistError(
                f"{directory}: saved in model format version 1 (no {MANIFEST}); this recokit reads version {FORMAT_VERSION} only, "
                "whose files carry a manifest of hashes.",
                hint="refit the model and save it again with this recokit.",
            ) from None
        raise PersistError(f"{str(directory)!r} is not a saved recokit model (no {MANIFEST} in it).", hint="give the directory written by recokit.save.") from None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise damaged(file, "is a symbolic link or not a regular file; a saved model holds only regular files.")
    if st.st_size > MAX_MANIFEST_BYTES:
        raise damaged(file, f"{st.st_size} bytes; a manifest is at most {MAX_MANIFEST_BYTES} bytes.")
    with _open_no_follow(file) as fh:
        text = fh.read(MAX_MANIFEST_BYTES + 1)
    try:
        doc = json.loads(text.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise damaged(file, f"not valid JSON ({exc}).") from None
    except RecursionError:  # a JSON array nested thousands deep: not a file recokit wrote
        raise damaged(file, "nested too deeply to be read (not a file recokit wrote).") from None
    _check_manifest(file, doc)
    return doc


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed")


def _check_manifest(file: Path, doc: Any) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise damaged(file, f"not a recokit model manifest (format {doc.get('format') if isinstance(doc, dict) else None!r}).")
    version = doc.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION
        raise PersistError(
            f"{file.parent}: saved in model format version {version!r} (by recokit {doc.get('recokit_version')!r}); "
            f"this recokit reads version {FORMAT_VERSION} only.",
            hint="upgrade recokit to load it." if newer else "refit the model and save it again with this recokit.",
        )
    files = doc.get("files")
    if not isinstance(files, dict) or MODEL_JSON not in files:
        raise damaged(file, f"'files' must be an object listing {MODEL_JSON} and every other file.")
    for name, entry in files.items():
        if not is_data_file(name):
            raise damaged(file, f"lists {name!r}, which is not a file of a saved model (model.json, arrays/a<n>.npy, frames/f<n>.parquet).")
        ok = isinstance(entry, dict) and set(entry) == {"bytes", "sha256"}
        ok = ok and type(entry["bytes"]) is int and entry["bytes"] >= 0
        ok = ok and isinstance(entry["sha256"], str) and len(entry["sha256"]) == 64 and set(entry["sha256"]) <= _HEX
        if not ok:
            raise damaged(file, f"the entry of {name!r} must be {{'bytes': <int >= 0>, 'sha256': <64 lowercase hex digits>}}.")


def _listing(directory: Path) -> set[str]:
    """Every file under ``directory`` (but the manifest), refusing links, special files and unknown folders."""
    found: set[str] = set()
    for entry, rel in _entries(directory, ""):
        if entry.is_symlink():
            raise damaged(directory / rel, "is a symbolic link; a saved model holds only regular files and recokit never follows a link.")
        if entry.is_dir(follow_symlinks=False):
            if rel not in (ARRAYS, FRAMES):
                raise damaged(directory / rel, f"unexpected folder; a saved model holds only {ARRAYS}/ and {FRAMES}/.")
            for inner, inner_rel in _entries(Path(entry.path), rel + "/"):
                if inner.is_symlink() or not inner.is_file(follow_symlinks=False):
                    what = "a symbolic link" if inner.is_symlink() else "not a regular file"
                    raise damaged(directory / inner_rel, f"is {what}; a saved model holds only regular files.")
                found.add(inner_rel)
        elif not entry.is_file(follow_symlinks=False):
            raise damaged(directory / rel, "is not a regular file.")
        elif rel != MANIFEST:
            found.add(rel)
    return found


def _entries(directory: Path, prefix: str) -> Iterator[tuple[os.DirEntry[str], str]]:
    with os.scandir(directory) as it:
        for entry in it:
            yield entry, prefix + entry.name


def _open_no_follow(file: Path) -> BufferedReader:
    try:
        fd = os.open(file, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_BINARY", 0))
    except OSError as exc:  # ELOOP: it became a link after the listing
        raise damaged(file, f"cannot be opened as a regular file ({exc.strerror}).") from None
    fh = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fh.close()
        raise damaged(file, "is not a regular file.")
    return fh


def _open_checked(directory: Path, name: str, entry: dict[str, Any]) -> BufferedReader:
    """``name`` opened (never through a link), its size and SHA-256 checked against the manifest."""
    file = directory / name
    fh = _open_no_follow(file)
    try:
        size = os.fstat(fh.fileno()).st_size
        if size != entry["bytes"]:
            raise damaged(file, f"{size} bytes where {MANIFEST} lists {entry['bytes']}: the file was cut, extended or replaced.")
        size, digest = _hash(fh)
        if size != entry["bytes"] or digest != entry["sha256"]:
            raise damaged(file, f"its SHA-256 does not match {MANIFEST}: the file was changed, swapped with another or damaged.")
    except BaseException:
        fh.close()
        raise
    return fh
