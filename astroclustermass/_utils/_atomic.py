"""Atomic file and directory writes: write to a temporary sibling, then switch in one step.

Directories are replaced without a moment in which neither the old nor the new
one exists under the final name's reach: the new tree is written (and
optionally fsynced) beside the old one, then the two are swapped with one
``renameat2(RENAME_EXCHANGE)`` call where the kernel and file system offer it.
Elsewhere two renames are needed (old → ``.NAME.old-PID-…``, new → ``NAME``);
a process killed between them leaves the complete old tree under the hidden
name, and `recover_directory` puts it back. Temporary trees carry the writer's
process id, so leftovers of killed writers are recognised and removed by the
next successful write (`stale_leftovers`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from ..exceptions import OutputExistsError

__all__ = [
    "atomic_write",
    "atomic_directory",
    "recover_directory",
    "stale_leftovers",
    "foreign_entries",
    "check_replaceable",
]

#: Leftovers whose name carries no process id count as stale after this long (s).
_LEGACY_STALE_AFTER = 3600.0
_rename = os.replace  # one reference, so tests can interrupt a save between renames


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _refuse_existing(path: Path) -> None:
    raise OutputExistsError(f"{path} exists; pass overwrite=True to replace it", path=path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    If the body raises, the temporary file is removed and ``path`` is left as it
    was, so a crash never leaves a half-written file where a good one stood.

    Parameters
    ----------
    path : path-like
        Final destination.
    overwrite : bool
        If False and ``path`` exists, raise `~astroclustermass.exceptions.OutputExistsError`
        (a `FileExistsError`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_write(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    path = Path(path)
    if path.exists() and not overwrite:
        _refuse_existing(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; respect the umask
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def foreign_entries(path: str | os.PathLike, owned: Collection[str]) -> list[str]:
    """Names in directory ``path`` that are not in ``owned`` (sorted; [] if ``path`` is absent).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "notes.txt").write_text("mine")
    >>> foreign_entries(d, {"config.json"})
    ['notes.txt']
    """
    path = Path(path)
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.name not in owned)


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root`` (and ``root``) to disk."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` in one atomic step (Linux ``renameat2``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # no glibc >= 2.28
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False  # old kernel or a file system without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(b))


def _switch(tmp: Path, path: Path) -> None:
    """Put directory ``tmp`` at ``path``, never leaving ``path``'s old tree unreachable."""
    if not path.exists():
        _rename(tmp, path)
        return
    if _exchange(tmp, path):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old tree
        return
    old = path.with_name(f".{path.name}.old-{os.getpid()}-{os.urandom(4).hex()}")
    _rename(path, old)
    _rename(tmp, path)  # a kill before this line leaves the old tree at `old`
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


_LEFTOVER = re.compile(
    r"^\.(?P<name>.+)\.(?:old-(?P<opid>\d+)(?:-[0-9a-f]+)?|(?P<tpid>\d+)-[^.]*\.tmp|[^.]+\.tmp)$"
)


def _leftovers(path: Path) -> list[tuple[Path, int | None, bool]]:
    """Siblings left by interrupted writes of ``path``: (entry, writer pid or None, is_old)."""
    found = []
    if not path.parent.is_dir():
        return found
    for entry in path.parent.iterdir():
        m = _LEFTOVER.match(entry.name)
        if m is None or m["name"] != path.name:
            continue
        pid = m["opid"] or m["tpid"]
        found.append((entry, int(pid) if pid else None, m["opid"] is not None))
    return found


def _alive(pid: int) -> bool:
    if os.name != "posix":  # no signal-0 probe on Windows: assume the writer may still run
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def stale_leftovers(path: str | os.PathLike) -> list[Path]:
    """Temporary siblings of ``path`` left by writers that no longer run.

    Their names are ``.NAME.PID-….tmp`` (a tree being written) and
    ``.NAME.old-PID-…`` (a replaced tree awaiting removal); names without a
    process id (older versions) count once they are an hour old.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / ".model.999999999-abc.tmp").mkdir()
    >>> [p.name for p in stale_leftovers(d / "model")]
    ['.model.999999999-abc.tmp']
    """
    path = Path(path)
    now = time.time()
    stale = []
    for entry, pid, _ in _leftovers(path):
        if pid is None:
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > _LEGACY_STALE_AFTER:
                    stale.append(entry)
        elif pid != os.getpid() and not _alive(pid):
            stale.append(entry)
    return sorted(stale)


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            entry.unlink()


def recover_directory(path: str | os.PathLike) -> Path | None:
    """Put back the old tree of ``path`` that a write killed between two renames left hidden.

    Returns ``path`` when a leftover ``.NAME.old-PID-…`` of a writer that no
    longer runs was renamed back (the newest one if several), else None (also
    when ``path`` exists). The caller should verify the recovered tree.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / ".model.old-999999999-ab").mkdir()
    >>> recover_directory(d / "model") == d / "model", (d / "model").is_dir()
    (True, True)
    """
    path = Path(path)
    if path.exists():
        return None
    olds = [
        e
        for e, pid, is_old in _leftovers(path)
        if is_old and pid is not None and e.is_dir() and not _alive(pid)
    ]
    if not olds:
        return None
    newest = max(olds, key=lambda e: e.stat().st_mtime)
    try:
        _rename(newest, path)
    except OSError:
        return None
    return path


def check_replaceable(
    path: str | os.PathLike, overwrite: bool, owned: Collection[str] | None = None
) -> None:
    """Refuse to replace directory ``path`` unless allowed and free of files not in ``owned``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False; or it is not a directory;
        or it holds names outside ``owned`` (when given).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "notes.txt").write_text("mine")
    >>> check_replaceable(d, overwrite=True, owned={"config.json"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    astroclustermass.exceptions.OutputExistsError: ... did not write (notes.txt); ...
    """
    path = Path(path)
    if not path.exists():
        return
    if not overwrite:
        _refuse_existing(path)
    if not path.is_dir():
        raise OutputExistsError(f"{path} exists and is not a directory", path=path)
    foreign = foreign_entries(path, owned) if owned is not None else []
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise OutputExistsError(
            f"{path} holds {len(foreign)} file(s) that astroclustermass did not write "
            f"({shown}); replacing it would delete them: move them away or write elsewhere",
            path=path,
        )


@contextlib.contextmanager
def atomic_directory(
    path: str | os.PathLike,
    overwrite: bool = True,
    *,
    owned: Collection[str] | None = None,
    fsync: bool = False,
) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``path`` in one switch.

    Parameters
    ----------
    path : path-like
        Final directory.
    overwrite : bool
        If False and ``path`` exists, raise `~astroclustermass.exceptions.OutputExistsError`.
    owned : collection of str, optional
        Names the writer owns. An existing ``path`` holding anything else is
        refused before the body runs, so replacing it never deletes files the
        package did not write.
    fsync : bool
        Flush the new tree to disk before the switch (durable against power loss).

    Notes
    -----
    Leftovers of earlier writers that were killed (see `stale_leftovers`) are
    removed after a successful switch.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_directory(d / "model") as tmp:
    ...     _ = (tmp / "config.json").write_text("{}")
    >>> sorted(p.name for p in (d / "model").iterdir())
    ['config.json']
    """
    path = Path(path)
    check_replaceable(path, overwrite, owned)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    )
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if fsync:
            _fsync_tree(tmp)
        _switch(tmp, path)
        if fsync:
            _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for entry in stale_leftovers(path):
        _remove(entry)
