"""One copy of a reference per node: load time and memory of P MPI ranks that open the same file.

Reference files keep their descriptors 64-byte aligned and Reference.load memory-maps them
(quests_lmp.engine.archive), so the ranks of a node share the page cache's one copy. This compares
that with a file of the earlier layout (np.savez, unaligned), which every rank reads into its own
memory, and adds a file with the cluster index of method approx (evaluated with certificate 0, so
that every member of the index is read). For each layout and rank count: the seconds
Reference.load takes on each rank (checksums included, after a first run has put the file in the
page cache), and the memory the reference adds to the node: the sum over ranks of the growth of
the proportional set size (PSS, which splits a shared page among the processes that map it) from
before the load to after one dH evaluation that reads every reference vector.

    python benchmarks/reference_sharing.py [--environments 1000000] [--ranks 1 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from quests_lmp import Reference
from quests_lmp.engine.reference_file import checksum

WORKER = r"""
import json, sys, time
from mpi4py import MPI
import numpy as np
from quests_lmp import Reference

def pss_mib():
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024

test = np.random.default_rng(1).random((64, 63)) * 0.1
Reference(test, bandwidth=0.05).delta_entropy(test)  # compile and allocate before measuring
before = pss_mib()
MPI.COMM_WORLD.Barrier()
started = time.perf_counter()
reference = Reference.load(sys.argv[1])
load = time.perf_counter() - started
if reference.has_cluster_index:
    reference.delta_entropy(test, method="approx", certificate=0.0, stop_below=-np.inf)
else:
    reference.delta_entropy(test)
after = pss_mib()
rows = MPI.COMM_WORLD.gather((load, after - before), root=0)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps(rows))
"""


def old_layout(reference: Reference, path: Path) -> Path:
    """The reference written as before the alignment (np.savez): read into memory by every rank."""
    header = reference._header()
    header["sha256"] = checksum(reference.descriptors, header)
    encoded = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    with open(path, "wb") as stream:
        np.savez(stream, descriptors=reference.descriptors, header=encoded)
    return path


def measure(path: Path, ranks: int) -> list[tuple[float, float]]:
    command = [
        str(Path(sys.executable).with_name("mpiexec")),
        "-n",
        str(ranks),
        sys.executable,
        "-c",
        WORKER,
        str(path),
    ]
    for _ in range(2):  # the first run puts the file in the page cache; the second is measured
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=True,
            env={
                "NUMBA_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1",
                "PATH": str(Path(sys.executable).parent),
                "PYTHONPATH": ":".join(sys.path),
            },
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=1_000_000)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    descriptors = np.random.default_rng(0).random((args.environments, 63)) * 0.1
    reference = Reference(descriptors, bandwidth=0.05)
    indexed = Reference(descriptors, bandwidth=0.05)
    index_mib = sum(array.nbytes for array in indexed.cluster_index().arrays().values()) / 2**20
    size_mib = descriptors.nbytes / 2**20
    print(
        f"reference: {args.environments:,} environments, descriptors {size_mib:.0f} MiB (float64), cluster "
        f"index {index_mib:.0f} MiB\n"
    )
    print("| layout | ranks | load per rank (s) | reference memory on the node (MiB) | per reference copy |")
    print("| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        files = {
            "aligned, memory-mapped (now)": (reference.save(Path(folder) / "mapped.npz"), size_mib),
            "np.savez, read (before)": (old_layout(reference, Path(folder) / "read.npz"), size_mib),
            "with cluster index, method approx": (indexed.save(Path(folder) / "indexed.npz"), size_mib + index_mib),
        }
        for layout, (path, copy_mib) in files.items():
            for ranks in args.ranks:
                rows = measure(path, ranks)
                load = max(row[0] for row in rows)
                memory = sum(row[1] for row in rows)
                print(f"| {layout} | {ranks} | {load:.2f} | {memory:.0f} | {memory / copy_mib:.2f}x |")


if __name__ == "__main__":
    main()
