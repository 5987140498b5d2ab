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
            data = data[os.write(descriptor, data) :]
    finally:
        os.close(descriptor)


def appendable_extxyz(path, protected=()) -> str:
    """Why `path` cannot take appended extxyz frames, or "" where it can: a missing folder, a
    directory or other non-regular file (a device, a pipe), a file of `protected` (paths the run
    reads: its reference file), a file that exists and does not start as extxyz (a data file, a
    dump, a reference archive), a file this process holds open (a dump or log writing it; Linux),
    or one it may not write."""
    path = Path(path)
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist; create it first"
    if path.exists() and not path.is_file():
        return f"{path} is {'a directory' if path.is_dir() else 'not a regular file'}; name a file"
    for other in protected:
        if path.exists() and Path(other).exists() and os.path.samefile(path, other):
            return f"{path} is {other}, which this run reads"
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as stream:
            head = stream.read(4096).split(b"\n")
        if len(head) < 2 or not head[0].strip().isdigit() or b"Properties=" not in head[1]:
            start = head[0][:40].decode(errors="replace")
            return (
                f"{path} exists and is not an extxyz file (it starts with {start!r}); collect appends only to "
                "extxyz files: name a new file"
            )
    if _open_here(path):
        return f"{path} is open for writing in this run (a dump or a log writes it); name a file of its own"
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        return f"{path} cannot be written (permissions)"
    return ""


def _open_here(path: Path) -> bool:
    """Whether this process holds `path` open (Linux /proc; False where it cannot tell)."""
    if not path.exists():
        return False
    identity = (path.stat().st_dev, path.stat().st_ino)
    try:
        links = os.listdir("/proc/self/fd")
    except OSError:
        return False
    for link in links:
        try:
            info = os.stat(f"/proc/self/fd/{link}")
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == identity:
            return True
    return False


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
