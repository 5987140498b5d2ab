"""MPI helpers for the front-ends (mpi4py): ranks, a balanced split of the work, shared failures.

`mpiexec -n P quests-lmp dh|trajectory ...` splits its environments or frames over the ranks.
Without an MPI launcher (no PMI/Open MPI variables in the environment) nothing is imported and
there is one rank. A failure on any rank is shared, so every rank stops with the same message.
"""

from __future__ import annotations

import os

from .engine.validation import failure_message

_LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


class RankFailure(RuntimeError):
    """Some rank failed; the message is that rank's."""


class World:
    """The ranks of this run: rank, size, a balanced split of work and the gathering of results."""

    def __init__(self):
        self.comm = None
        if any(name in os.environ for name in _LAUNCHER_VARIABLES):
            from mpi4py import MPI

            self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank() if self.comm else 0
        self.size = self.comm.Get_size() if self.comm else 1

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def block(self, n: int) -> tuple[int, int]:
        """This rank's contiguous share [start, stop) of n items (sizes differ by at most one)."""
        base, extra = divmod(n, self.size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (self.rank < extra)

    def run(self, work):
        """work() on every rank; returns the list of all ranks' results on rank 0 (None elsewhere).

        If work() raises on any rank, every rank raises RankFailure with the first failure's message.
        """
        try:
            result, failure = work(), None
        except Exception as error:  # noqa: BLE001 - the other ranks must not wait for this one forever
            result, failure = None, failure_message(error)
        if self.comm is None:
            if failure:
                raise RankFailure(failure)
            return [result]
        failures = [message for message in self.comm.allgather(failure) if message]
        if failures:
            raise RankFailure(failures[0])
        return self.comm.gather(result, root=0)
