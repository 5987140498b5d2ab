"""`quests-lmp dh` against the reference package's `quests dH`, on the same files, in one run.

    python benchmarks/cli.py [--environments 1000000] [--format extxyz] [--folder DIR]

Test set: frames of 1,000 thermal FCC Cu atoms (0.1 A noise) adding up to --environments; reference:
66 frames of 64 atoms at 0.05 A = 4,224 environments. Both commands run from the shell as users
would, wall time including Python start-up, file reading, descriptors and dH: quests-lmp under
`mpiexec -n 2` (one thread per rank) and with 2 threads in one process, `quests dH` with 2 threads
(NUMBA_NUM_THREADS=2, -j 2). Target (issue #5): quests-lmp >= 2x faster than the reference package.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ase.io
import numpy as np
from ase.build import bulk

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--environments", type=int, default=1_000_000, help="test environments (multiple of 1000)")
    parser.add_argument("--format", default="extxyz", help="file format for both tools (extxyz, traj, ...)")
    parser.add_argument("--folder", help="where to write the data (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(args.folder or temporary)
        folder.mkdir(parents=True, exist_ok=True)
        test, reference = _write_data(folder, args.environments // 1000, args.format)
        runs = {
            "quests dH, 2 threads": [str(BIN / "quests"), "dH", test, reference, "-j", "2"],
            "quests-lmp dh, mpiexec -n 2": [
                str(BIN / "mpiexec"),
                "-n",
                "2",
                str(BIN / "quests-lmp"),
                "dh",
                test,
                "--reference",
                reference,
                "--threads",
                "1",
                "-q",
            ],
            "quests-lmp dh, 2 threads": [
                str(BIN / "quests-lmp"),
                "dh",
                test,
                "--reference",
                reference,
                "--threads",
                "2",
                "-q",
            ],
        }
        seconds = {name: _wall_seconds(command, folder) for name, command in runs.items()}
    n = args.environments
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {n} test vs 4224 reference environments, {args.format} files"
    )
    baseline = seconds["quests dH, 2 threads"]
    print(f"{'command':<32}{'wall (s)':>10}{'env/s':>12}{'speed-up':>10}")
    for name, value in seconds.items():
        print(f"{name:<32}{value:>10.1f}{n / value:>12.0f}{baseline / value:>9.2f}x")
    best = baseline / min(v for k, v in seconds.items() if k.startswith("quests-lmp"))
    print(f"target >= 2x: {'ok' if best >= 2 else 'MISSED'} ({best:.2f}x)")


def _write_data(folder: Path, test_frames: int, format: str) -> tuple[str, str]:
    rng = np.random.default_rng(0)

    def thermal(repeat, noise):
        atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(repeat)
        atoms.positions += rng.normal(0.0, noise, atoms.positions.shape)
        return atoms

    suffix = "xyz" if format == "extxyz" else format
    test, reference = folder / f"test.{suffix}", folder / f"reference.{suffix}"
    ase.io.write(reference, [thermal((2, 2, 4), 0.05) for _ in range(66)], format=format)
    ase.io.write(test, [thermal((5, 5, 10), 0.1) for _ in range(test_frames)], format=format)
    return str(test), str(reference)


def _wall_seconds(command: list[str], folder: Path) -> float:
    env = dict(os.environ, NUMBA_NUM_THREADS="2", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


if __name__ == "__main__":
    main()
