"""The `quests-lmp` command line: the paper's dataset and trajectory analyses over the engine.

    quests-lmp reference build FILES -o ref.npz   training structures -> reference file (+ H, D)
    quests-lmp calibrate FILES -o ref.npz         ... with an alarm threshold calibrated on held-out dH
    quests-lmp entropy DATASETS                   H, D, log n; --sample N --repeats R
    quests-lmp dh TEST --reference REF            per-atom dH -> extxyz (array dH) or CSV; summary
    quests-lmp errors TEST --reference REF --predicted KEY   dH against a model's force errors (Fig. 4e)
    quests-lmp metrics DATASET [-o per-atom.csv]  H, D and every environment's dH against its own set
    quests-lmp overlap DATASETS                   overlap matrix (fraction covered), CSV + heat map
    quests-lmp mutual-info A B                    mutual information, conditional entropies, distance
    quests-lmp trajectory TRAJ [--reference REF]  per frame H, mean/max dH, novel fraction; CSV + plot
    quests-lmp clusters TRAJ --reference REF      clusters of atoms with dH <= 0, per frame; CSV + plot
    quests-lmp learning-curve DATASET             H against size, asymptote fit (Eq. 9), information gap
    quests-lmp compress DATASET --size N          a subset that keeps the most information -> extxyz
    quests-lmp select POOL --reference REF        a budget of novel structures or environments for DFT
    quests-lmp bandwidth V [V ...]                h(V) for atomic volumes in A^3/atom (SI Eq. S20)
    quests-lmp phase-boundary POINTS.csv --pressures P   T where two phases' G(P, T) cross (Fig. 1c)
    quests-lmp plugin-path                        folder of the LAMMPS plugin questsplugin.so
    quests-lmp build-plugin --lammps DIR -o OUT   the plugin compiled for another LAMMPS

A dataset is `file[@frames]` in any format ASE reads (`md.dump@::10`). Every command takes -k,
--cutoff, --bandwidth (1/A or `auto` for the paper's h(V)), --threads, --quiet, --overwrite and
--json. Under `mpiexec -n P` (or srun) every analysis splits its work over the ranks and prints the
serial answer (reference index, bandwidth, phase-boundary, plugin-path and build-plugin run on rank
0). Mistakes give one line and exit code 1. A bare `quests-lmp` prints this help; `--version` the
version.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import metadata

from ..parallel import RankFailure, World
from . import (
    bandwidth,
    build_plugin,
    calibrate,
    clusters,
    compress,
    dh,
    entropy,
    errors,
    learning_curve,
    metrics,
    mutual_info,
    overlap,
    phase_boundary,
    plugin_path,
    reference,
    select,
    trajectory,
)

COMMANDS = (
    reference,
    calibrate,
    entropy,
    metrics,
    dh,
    errors,
    overlap,
    mutual_info,
    trajectory,
    clusters,
    learning_curve,
    compress,
    select,
    bandwidth,
    phase_boundary,
    plugin_path,
    build_plugin,
)


def main(argv: list[str] | None = None) -> int:
    """Runs `quests-lmp ARGS`; returns the exit code (1 with one error line for a user mistake)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # a bare command: what there is to run
        parser().print_help()
        return 0
    args = parser().parse_args(argv)
    world = World()
    started = time.perf_counter()
    failure = None
    try:
        if getattr(args, "threads", None):
            import numba

            numba.set_num_threads(args.threads)
        if world.size == 1 or getattr(args, "parallel", False):
            args.handler(args, world)
        elif world.is_root:  # a command that does not split its work: rank 0 does it, the others wait
            args.handler(args, World(mpi=False))
    except (ValueError, OSError, RankFailure) as error:
        failure = f"quests-lmp {args.command}: error: {error}"
    except Exception as error:
        if world.size == 1:
            raise
        failure = f"quests-lmp {args.command}: rank {world.rank} failed: {type(error).__name__}: {error}"
    failure = world.agree(failure)  # every rank ends with the same verdict, or the job is ended
    if failure is not None:
        if world.is_root:
            print(failure, file=sys.stderr)
        return 1
    if world.is_root and not getattr(args, "quiet", True):
        print(f"quests-lmp {args.command}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    """The parser of every sub-command, each registered by its own module."""
    top = argparse.ArgumentParser(
        prog="quests-lmp",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    top.add_argument("--version", action="version", version=f"quests-lmp {version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="command")
    for command in COMMANDS:
        command.register(commands)
    return top


def version() -> str:
    """The installed package's version ("unknown" where it runs from a source tree not installed)."""
    try:
        return metadata.version("quests-lmp")
    except metadata.PackageNotFoundError:
        return "unknown"
