"""MPI helpers for the front-ends (mpi4py): ranks, a balanced split of the work, shared failures,
and arrays held once per node.

`mpiexec -n P quests-lmp COMMAND ...` splits the environments or frames of every analysis over
the ranks. Without an MPI launcher (no PMI/Open MPI variables in the environment) nothing is
imported and there is one rank.

Failures: work run through `each`, `run` or `from_root` is followed by one exchange of failure
messages, so a mistake met by some ranks (a corrupt frame, a bad value) stops every rank with
that rank's message instead of leaving the others waiting in the next collective call. Anything
else that escapes on one rank ends the whole job (`abort`), so a run never hangs.

Node copies: `concatenate` gives every rank the rows of all ranks in one MPI-3 shared-memory
window per node (ranks sharing memory, or QUESTS_LMP_NODE_SIZE consecutive ranks where set,
e.g. to test the between-node path on one machine): memory per node is one copy, not one per rank.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from .engine.validation import failure_message

_MESSAGE_BYTES = 2048  # of a failure message exchanged at the end of a run
_LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


def launched_rank() -> tuple[int, int]:
    """(rank, ranks) of this process as its MPI launcher (mpiexec, mpirun, srun) numbered it, read
    from the launcher's variables without starting MPI; (0, 1) without a launcher."""
    for rank, size in (
        ("PMI_RANK", "PMI_SIZE"),
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
        ("PMIX_RANK", "PMIX_SIZE"),
        ("SLURM_PROCID", "SLURM_NTASKS"),
    ):
        if rank in os.environ:
            return int(os.environ[rank]), int(os.environ.get(size, "0")) or int(os.environ[rank]) + 1
    return 0, 1


class RankFailure(RuntimeError):
    """Some rank failed; the message is that rank's."""


class World:
    """The ranks of this run: rank, size, a balanced split of work and the gathering of results.

    The one MPI layer of the package: the CLI runs on COMM_WORLD, the python/invoke hook on
    LAMMPS's communicator, the collection of `fix quests` on the communicator the C++ fix hands
    over (quests_lmp.lammps.host_comm.HostComm, which offers gather, bcast and allgather).
    """

    def __init__(self, mpi: bool = True, comm=None):
        """comm: the communicator to run on (an mpi4py one, e.g. LAMMPS's lmp.get_mpi_comm(), or a
        HostComm); None: MPI.COMM_WORLD where an MPI launcher started this process, else this
        process alone (always with mpi=False)."""
        self.comm = comm
        if comm is None and mpi and any(name in os.environ for name in _LAUNCHER_VARIABLES):
            from mpi4py import MPI

            self.comm = MPI.COMM_WORLD
        # for agree only, made now by every rank: it can never match another call
        self._meeting = self.comm.Dup() if hasattr(self.comm, "Dup") else None
        self.rank = self.comm.Get_rank() if self.comm else 0
        self.size = self.comm.Get_size() if self.comm else 1
        self._node = None
        self._windows = []  # shared windows live as long as the run: arrays of `concatenate` view them

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def block(self, n: int) -> tuple[int, int]:
        """This rank's contiguous share [start, stop) of n items (sizes differ by at most one)."""
        base, extra = divmod(n, self.size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (self.rank < extra)

    def each(self, work):
        """work() on every rank; this rank's result.

        Raises RankFailure on every rank, with the first failing rank's message, if work() raised
        on any rank.
        """
        try:
            result, failure = work(), None
        except Exception as error:  # noqa: BLE001 - the other ranks must not wait for this one forever
            result, failure = None, failure_message(error)
        failures = [failure] if self.comm is None else self.comm.allgather(failure)
        failures = [message for message in failures if message]
        if failures:
            raise RankFailure(failures[0])
        return result

    def run(self, work):
        """work() on every rank; the list of all ranks' results on rank 0 (None elsewhere).
        Failures as for `each`."""
        return self.gather(self.each(work))

    def from_root(self, work):
        """work() on rank 0 only; its result on every rank (failures as for `each`)."""
        result = self.each(lambda: work() if self.is_root else None)
        return result if self.comm is None else self.comm.bcast(result, root=0)

    def gather(self, value):
        """Every rank's value, in rank order, on rank 0 (None elsewhere)."""
        return [value] if self.comm is None else self.comm.gather(value, root=0)

    def allgather(self, value) -> list:
        """Every rank's value, in rank order, on every rank."""
        return [value] if self.comm is None else self.comm.allgather(value)

    def bcast(self, value):
        """Rank 0's value on every rank."""
        return value if self.comm is None else self.comm.bcast(value, root=0)

    def agree(self, failure: str | None, timeout: float = 10.0) -> str | None:
        """The first rank's failure message (None if no rank failed), called by every rank once its
        work has ended, failed or not (on a communicator of its own, so it never meets another call).

        A rank that failed waits at most `timeout` seconds for the others, then ends the job
        (`abort`): they are waiting for it in a collective call of the work.
        """
        if self.comm is None or self.size == 1:
            return failure
        if self._meeting is None:
            raise TypeError(f"agree needs an mpi4py communicator, not {type(self.comm).__name__}")
        mine = np.zeros(_MESSAGE_BYTES, dtype=np.uint8)
        if failure is not None:
            text = failure.encode()[: _MESSAGE_BYTES - 1]
            mine[0], mine[1 : 1 + len(text)] = 1, np.frombuffer(text, dtype=np.uint8)
        everyone = np.zeros((self.size, _MESSAGE_BYTES), dtype=np.uint8)
        request, waited = self._meeting.Iallgather(mine, everyone), 0.0
        while not request.Test():
            if failure is not None and waited > timeout:
                print(failure, file=sys.stderr, flush=True)
                self.abort()
            time.sleep(0.01)
            waited += 0.01
        for row in everyone:
            if row[0]:
                return bytes(row[1:]).rstrip(b"\0").decode(errors="replace")
        return None

    def abort(self) -> None:
        """Ends every rank of the job at once, exit code 1 (an error met by one rank only)."""
        if hasattr(self.comm, "Abort"):
            self.comm.Abort(1)

    def concatenate(self, rows: np.ndarray) -> np.ndarray:
        """The rows of every rank, in rank order, on every rank: one read-only copy per node.

        rows: this rank's (n_r, ...) array; every rank's must have the same dtype and trailing shape.
        """
        rows = np.ascontiguousarray(rows)
        if self.comm is None or self.size == 1:
            return rows
        counts = self.comm.allgather(rows.shape[0])
        offsets = np.cumsum([0] + counts)
        full = self._shared_array((int(offsets[-1]),) + rows.shape[1:], rows.dtype)
        full[offsets[self.rank] : offsets[self.rank + 1]] = rows
        node, leaders, leader_of = self._nodes()
        node.Barrier()
        if leaders is not None and leaders.Get_size() > 1:  # each node's rows to the other nodes
            for source in sorted(set(leader_of)):
                members = [r for r in range(self.size) if leader_of[r] == source]
                package = (
                    np.concatenate([full[offsets[r] : offsets[r + 1]] for r in members])
                    if source == self.rank
                    else np.empty((sum(counts[r] for r in members),) + rows.shape[1:], rows.dtype)
                )
                leaders.Bcast(package, root=sorted(set(leader_of)).index(source))
                if source != self.rank:
                    start = 0
                    for r in members:
                        full[offsets[r] : offsets[r + 1]] = package[start : start + counts[r]]
                        start += counts[r]
        node.Barrier()
        full.flags.writeable = False
        return full

    def _nodes(self):
        """(this rank's node communicator, the communicator of node leaders or None, the world
        rank of each rank's node leader)."""
        if self._node is None:
            from mpi4py import MPI

            size = os.environ.get("QUESTS_LMP_NODE_SIZE")
            if size:
                node = self.comm.Split(self.rank // int(size), self.rank)
            else:
                node = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
            is_leader = node.Get_rank() == 0
            leaders = self.comm.Split(0 if is_leader else MPI.UNDEFINED, self.rank)
            leader = node.bcast(self.rank, root=0)
            self._node = (node, None if leaders == MPI.COMM_NULL else leaders, self.comm.allgather(leader))
        return self._node

    def _shared_array(self, shape: tuple, dtype) -> np.ndarray:
        from mpi4py import MPI

        node = self._nodes()[0]
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        window = MPI.Win.Allocate_shared(
            max(nbytes, dtype.itemsize) if node.Get_rank() == 0 else 0, dtype.itemsize, comm=node
        )
        self._windows.append(window)
        buffer, _ = window.Shared_query(0)
        return np.ndarray(shape, dtype=dtype, buffer=buffer)
