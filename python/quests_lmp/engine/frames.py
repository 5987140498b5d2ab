"""Structure files read frame by frame: an index of where each frame starts, so that a process
reads only the frames it is given.

LAMMPS text dumps and (ext)xyz files are indexed by byte offset in one scan of the file that
parses no atom line (regular expressions over a memory map for dumps; newline counts of whole
blocks for xyz), and the number of atoms of each frame is read from its header. The atom lines
of each frame are counted against its header (newline counts in compiled code): a frame cut
short (a run killed while writing its last frame) is found here, and a selection that holds it
is refused with the selection that avoids it. A frame is then parsed by ASE from its own bytes
only, so a corrupt frame elsewhere in the file is never read.
Other formats (data files, POSCAR, gzip, ...) are read whole by ASE when first asked for.

Memory: the index holds two integers per frame; a read holds the frames asked for.
"""

from __future__ import annotations

import io
import mmap
import re
from pathlib import Path

import numpy as np

INDEXED_FORMATS = ("lammps-dump-text", "extxyz", "xyz")
_DUMP_FRAME = re.compile(rb"^ITEM: TIMESTEP", re.MULTILINE)
_DUMP_ATOMS = re.compile(rb"^ITEM: NUMBER OF ATOMS[^\n]*\n\s*(\d+)", re.MULTILINE)
_DUMP_ATOM_LINES = re.compile(rb"^ITEM: ATOMS[^\n]*\n", re.MULTILINE)
_LINE_GUESS = 96  # bytes per xyz line, for the first block of a frame's newline count


class FrameFile:
    """The frames of one structure file: their number and atom counts, and any of them read by ASE.

    Parameters
    ----------
    path : str or path
        A structure file in any format ASE reads.
    format : str, optional
        An ASE format name; guessed by ASE from the file if not given.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        ASE cannot tell or read the format, or a dump or xyz file whose frame headers are broken
        (the message gives the byte offset).
    """

    def __init__(self, path, format: str | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"structure file not found: {self.path}")
        self.format = format or _guess_format(self.path)
        self._frames = None  # formats read whole
        self.broken = {}  # frame number -> (atom lines found, atoms its header says), of indexed formats
        if self.indexed:
            try:
                self.offsets, self.atom_counts, self.broken = _index(self.path, self.format)
            except ValueError as error:
                raise ValueError(f"cannot read structures from {self.path}: {error}") from None
        else:
            self._frames = _read_ase(self.path, slice(None), self.format)
            self.atom_counts = np.array([len(atoms) for atoms in self._frames], dtype=np.int64)

    @property
    def indexed(self) -> bool:
        """Whether frames are read one by one from their byte offsets (dumps and xyz files)."""
        return self.format in INDEXED_FORMATS

    def __len__(self) -> int:
        return int(self.atom_counts.size)

    def select(self, index=":") -> np.ndarray:
        """The frame numbers of a selection (":", "::10", "100:200", -1, or a slice) in file order.

        Raises
        ------
        ValueError
            A malformed selection, one that holds no frames (the message gives the frame count),
            or one that holds a frame with fewer or more atom lines than its header says (the
            message names the frame and a selection that avoids it).
        """
        selection = frame_selection(index)
        if isinstance(selection, int):
            selection = slice(selection, selection + 1 or None)
        chosen = np.arange(len(self))[selection]
        if chosen.size == 0:
            count = len(self)
            raise ValueError(
                f"frame selection {index!r} of {self.path} holds no frames: the file has {count} frames "
                f"(0 to {count - 1}, or -{count} to -1)"
                if count
                else f"{self.path} holds no frames"
            )
        broken = [number for number in chosen.tolist() if number in self.broken]
        if broken:
            number = broken[0]
            found, expected = self.broken[number]
            last = number == len(self) - 1
            avoid = f"{self.path}@:-1" if last else f"{self.path}@:{number} or {self.path}@{number + 1}:"
            raise ValueError(
                f"frame {number}{' (the last)' if last else ''} of {self.path} holds {found} atom lines "
                f"but its header says {expected} atoms: the frame was cut short (a run killed while "
                f"writing it?) or the file is corrupt; leave it out, e.g. with {avoid}"
            )
        return chosen

    def read(self, frames) -> list:
        """The frames (ase.Atoms) of the given frame numbers, in that order.

        Raises
        ------
        ValueError
            ASE cannot parse one of them (the message names the frame).
        """
        if not self.indexed:
            return [self._frames[number] for number in frames]
        return [self._read_one(int(number)) for number in frames]

    def _read_one(self, number: int):
        start, stop = self.offsets[number], self.offsets[number + 1]
        with open(self.path, "rb") as stream:
            stream.seek(start)
            text = stream.read(stop - start).decode()
        what = f"frame {number} of {self.path} (bytes {start} to {stop})"
        return _read_ase(io.StringIO(text), 0, self.format, what)[0]


def read_structures(path, index=":", format: str | None = None) -> list:
    """Frames of a structure file, read with ASE.

    Parameters
    ----------
    path : str or path
        A file in any format ASE reads.
    index : str, int or slice
        Frames, as in ase.io.read: ":" all, "::10", "100:200", "-1", ...
    format : str, optional
        An ASE format name (e.g. "lammps-dump-text"); guessed if not given.

    Returns
    -------
    list of ase.Atoms

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        ASE cannot read it, a malformed selection, or a selection that holds no frames (the
        message names the selection and the file's frame count).
    """
    source = FrameFile(path, format)
    return source.read(source.select(index))


def frame_selection(index) -> int | slice:
    """An int or slice from a frame selection: 5, -1, ":", "::10", "100:200" (as after '@' on the CLI)."""
    if isinstance(index, slice) or (isinstance(index, int) and not isinstance(index, bool)):
        return index
    parts = str(index).strip().split(":")
    try:
        if len(parts) == 1:
            return int(parts[0])
        if len(parts) <= 3:
            selection = slice(*[int(part) if part.strip() else None for part in parts])
            if selection.step != 0:
                return selection
    except ValueError:
        pass
    raise ValueError(
        f"frame selection {index!r} is malformed: use an integer (0, -1) or start:stop:step (:, ::10, 100:200)"
    )


def _guess_format(path: Path) -> str | None:
    from ase.io.formats import filetype

    try:
        return filetype(str(path))
    except Exception as error:  # noqa: BLE001 - ASE raises several types for unknown files
        raise ValueError(
            f"cannot read structures from {path}: ASE cannot tell its format ({error}); "
            "name it with --format (e.g. extxyz, lammps-dump-text)"
        ) from None


def _read_ase(source, index, format: str | None, what: str | None = None) -> list:
    """ase.io.read on this process alone (ASE would read on MPI rank 0 and broadcast)."""
    import ase.io

    try:
        frames = ase.io.read(source, index=index, format=format, parallel=False)
    except Exception as error:  # ASE raises many types for unreadable files
        what = what or f"structures from {source}"
        raise ValueError(f"cannot read {what}: {type(error).__name__}: {error}") from error
    return frames if isinstance(frames, list) else [frames]


def _index(path: Path, format: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """(byte offset of each frame and of the end of the file, atoms of each frame by its header,
    {frame: (atom lines found, atoms by the header)} of the frames whose counts differ)."""
    if path.stat().st_size == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), {}
    with open(path, "rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if format == "lammps-dump-text":
            starts = [match.start() for match in _DUMP_FRAME.finditer(data)]
            counts = [int(match.group(1)) for match in _DUMP_ATOMS.finditer(data)]
            if len(counts) != len(starts) or (starts and starts[0] != 0 and data[: starts[0]].strip()):
                raise ValueError(
                    f"not a LAMMPS text dump: {len(starts)} 'ITEM: TIMESTEP' headers and "
                    f"{len(counts)} 'ITEM: NUMBER OF ATOMS' headers"
                )
            found = _dump_atom_lines(data, starts + [len(data)])
        else:
            starts, counts, found = _xyz_frames(data)
        broken = {number: (lines, count) for number, (lines, count) in enumerate(zip(found, counts)) if lines != count}
        return np.array(starts + [len(data)], dtype=np.int64), np.array(counts, dtype=np.int64), broken


def _dump_atom_lines(data, bounds: list[int]) -> list[int]:
    """Atom lines of each dump frame (bounds: frame starts, then the end of the file): the lines
    after its 'ITEM: ATOMS' header, blank lines at its end not counted; 0 where the frame ends
    before that header."""
    found = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        header = _DUMP_ATOM_LINES.search(data, start, stop)
        if header is None:
            found.append(0)
            continue
        while stop > header.end() and data[stop - 1] in b" \t\r\n":
            stop -= 1
        found.append(_lines(data, header.end(), stop))
    return found


def _lines(data, start: int, stop: int) -> int:
    """Lines in data[start:stop], a last one without its newline included."""
    if stop <= start:
        return 0
    block = np.frombuffer(data, dtype=np.uint8, count=stop - start, offset=start)
    return int(np.count_nonzero(block == 10)) + (block[-1] != 10)


def _xyz_frames(data) -> tuple[list[int], list[int], list[int]]:
    """Frame starts, atom counts and atom lines found of an xyz file: a count line, a comment
    line, the atom lines (the last frame may end early: fewer lines found)."""
    starts, counts, found, position = [], [], [], 0
    while position < len(data):
        end = data.find(b"\n", position)
        line = data[position : end if end >= 0 else len(data)]
        if not line.strip():  # blank lines at the end of the file
            if data[position:].strip():
                raise ValueError(
                    f"a blank line at byte {position} inside the file, where an xyz frame's atom count was expected"
                )
            break
        try:
            count = int(line.strip())
        except ValueError:
            raise ValueError(
                f"an xyz frame's first line must be its atom count; byte {position} holds "
                f"{line[:60].decode(errors='replace')!r}"
            ) from None
        starts.append(position)
        counts.append(count)
        try:
            position = _after_lines(data, position, count + 2)
            found.append(count)
        except EOFError:  # the file ends inside this frame
            found.append(max(_lines(data, position, len(data)) - 2, 0))
            break
    return starts, counts, found


def _after_lines(data, position: int, lines: int) -> int:
    """The offset just after `lines` more newlines from `position` (the end of the file if the
    last line has none); whole blocks are counted in compiled code."""
    size = max(4096, lines * _LINE_GUESS)
    while lines > 0:
        block = data[position : position + size]
        size *= 2
        if not block:
            raise EOFError(f"the file ends inside an xyz frame: {lines} lines missing")
        found = block.count(b"\n")
        if found >= lines:
            newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            return position + int(newlines[lines - 1]) + 1
        lines -= found
        position += len(block)
        if position >= len(data) and lines == 1 and data[-1:] != b"\n":  # a last line without its newline
            return len(data)
    return position
