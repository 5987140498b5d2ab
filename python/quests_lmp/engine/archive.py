"""NumPy zip archives (.npz) whose arrays are memory-mapped when read: one copy per node.

np.savez stores its arrays uncompressed, but at whatever byte offset the zip layout gives them.
write_archive pads each member's local header (the zip "data stream alignment" extra field,
0xD935) so that every array's data starts on a 64-byte boundary. read_archive maps such arrays
read-only (np.memmap) instead of reading them: the operating system's page cache then holds one
copy of a reference for every process that opens it on a node (MPI ranks, the ranks of several
jobs, a notebook), and loading costs no read of the data. The file stays a plain .npz that np.load
reads; arrays of other archives (compressed, unaligned: files written by np.savez) are read into
memory as before.
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np

ALIGNMENT = 64  # bytes: cache lines, and any dtype's alignment
MAPPED_MIN_BYTES = 1 << 20  # smaller arrays are read into memory (a mapping costs a page and a file handle)
_ALIGN_EXTRA_ID = 0xD935  # the zip extra field that pads a local header to align the data after it
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, (version .. uncompressed size), name and extra lengths
_LOCAL_SIGNATURE = b"PK\x03\x04"


def write_archive(stream, arrays: dict[str, np.ndarray]) -> None:
    """Writes `arrays` as an uncompressed .npz to a binary stream, each array's data 64-byte aligned."""
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = header.tell() + array.nbytes
            zip64 = info.file_size > zipfile.ZIP64_LIMIT // 2
            data_start = (
                stream.tell() + _LOCAL_HEADER.size + len(info.filename.encode()) + (20 if zip64 else 0) + header.tell()
            )
            info.extra = _alignment_padding(data_start)
            with archive.open(info, "w", force_zip64=zip64) as member:
                member.write(header.getvalue())
                member.write(memoryview(array.reshape(-1)).cast("B"))


def _alignment_padding(data_start: int) -> bytes:
    """An extra field that moves data starting at `data_start` onto the next aligned byte."""
    missing = -data_start % ALIGNMENT
    if missing == 0:
        return b""
    if missing < 6:  # the field itself takes 4 bytes (id, size) and 2 (the alignment)
        missing += ALIGNMENT
    return struct.pack("<HHH", _ALIGN_EXTRA_ID, missing - 4, ALIGNMENT) + bytes(missing - 6)


def read_archive(path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file: large aligned uncompressed ones memory-mapped read-only, the
    others read into memory. Never unpickles.

    Raises zipfile.BadZipFile, ValueError or OSError for a malformed or truncated archive.
    """
    arrays = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type == zipfile.ZIP_STORED:
                arrays[name] = _stored_array(path, raw, info)
            else:
                with archive.open(info) as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


def _stored_array(path, raw, info: zipfile.ZipInfo) -> np.ndarray:
    raw.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if signature != _LOCAL_SIGNATURE:
        raise zipfile.BadZipFile(f"member {info.filename} has no local header")
    raw.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    version = np.lib.format.read_magic(raw)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(raw)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(raw)
    if dtype.hasobject:
        raise ValueError(f"member {info.filename} holds Python objects (pickled data), which are never loaded")
    offset = raw.tell()
    count = int(np.prod(shape))
    order = "F" if fortran else "C"
    if count * dtype.itemsize >= MAPPED_MIN_BYTES and offset % dtype.alignment == 0:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
    data = np.fromfile(raw, dtype=dtype, count=count)
    if data.size != count:
        raise ValueError(f"member {info.filename} is truncated")
    return data.reshape(shape, order=order)
