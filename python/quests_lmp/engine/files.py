"""Files written whole or not at all: a temporary file beside the target, moved into place when complete;
appends made in one write() each, so that a process killed between appends leaves whole records.

The result gets the permissions of a plain `open(path, "w")` under the user's umask (mkstemp alone
would leave 0600, unreadable by colleagues). A missing folder is reported before anything is written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def check_folder(path) -> None:
    """FileNotFoundError naming the folder when the folder of `path` does not exist."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist; create it first")


def write_atomically(path, writer) -> Path:
    """Calls writer(temporary path), then moves the result onto `path`; returns `path` as a Path."""
    path = Path(path)
    check_folder(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        writer(temporary)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def append_whole(path, text: str) -> None:
    """Appends text to a file (created if missing) in one write() with O_APPEND: between calls
    the file holds whole appends only (a kill inside one large write() may still cut it between
    pages, as the file system allows)."""
    data = text.encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        while data:
            data = data[os.write(descriptor, data):]
    finally:
        os.close(descriptor)


def extxyz_text(frames) -> str:
    """ase.Atoms (one or a list) as extended-XYZ text, written by this process alone."""
    import io

    import ase.io

    text = io.StringIO()
    ase.io.write(text, frames, format="extxyz", parallel=False)
    return text.getvalue()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
