"""Worker threads and BLAS thread control shared by the compiled loops (kernel sums, index queries).

The loops release the GIL and each worker calls single-threaded BLAS, so the two thread pools
never compete for cores. Both are set up once and kept: a small call (one MD step of a few atoms)
then costs little more than its arithmetic.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba as nb
from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_workers: tuple[int, ThreadPoolExecutor] | None = None  # (size, pool)
_blas: ThreadpoolController | None = None


def worker_pool(size: int) -> ThreadPoolExecutor:
    """The worker threads (one per numba thread), kept between calls: new threads cost ~1 ms each
    call. Made anew only when numba's thread count changes."""
    global _workers
    with _lock:
        if _workers is None or _workers[0] != size:
            if _workers is not None:
                _workers[1].shutdown(wait=True)
            _workers = (size, ThreadPoolExecutor(size, thread_name_prefix="quests-worker"))
        return _workers[1]


def one_blas_thread():
    """A context in which BLAS runs on one thread: the controller scans the loaded libraries once,
    not at every call (threadpool_limits re-reads /proc/self/maps, about 3 ms)."""
    global _blas
    with _lock:
        if _blas is None:
            _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def in_blocks(n: int, block: int, run) -> None:
    """run(rows) for consecutive slices of at most `block` of range(n), on numba.get_num_threads()
    worker threads (in this thread where one suffices), BLAS on one thread each."""
    blocks = [slice(start, min(start + block, n)) for start in range(0, n, block)]
    threads = nb.get_num_threads()
    with one_blas_thread():
        if threads == 1 or len(blocks) == 1:  # no hand-over to the pool
            for rows in blocks:
                run(rows)
        else:  # at most one block per worker at a time, however few there are
            list(worker_pool(threads).map(run, blocks))
