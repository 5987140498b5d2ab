"""`quests-lmp trajectory TRAJ [--reference REF]`: per frame H, mean/max dH and the novel fraction.

Against a reference, or against the trajectory's first frame. Runs under `mpiexec -n P`: the frames
are split over the ranks.
"""

from __future__ import annotations

import numpy as np

from ..engine.information import entropy
from . import options
from .datasets import Dataset, describe, md_step, reference_of, short_names
from .distributed import per_frame
from .outputs import per_atom_format_check, write_csv, write_per_atom
from .report import beside, print_table, write_result


def register(commands) -> None:
    about = "per-frame H and dH against a reference or the first frame"
    command = options.add_command(commands, "trajectory", run, about, [options.DH, options.PLOT], parallel=True)
    command.add_argument("trajectory", help="trajectory (LAMMPS dump, extxyz, ...; file@frames)")
    command.add_argument("--reference", help="reference file (.npz) or structures (default: the first frame)")
    command.add_argument("-o", "--output", help="per-atom dH: .extxyz/.xyz copy (array dH) or .csv")


def run(args, world) -> None:
    per_atom_format_check(args.output)
    options.check_outputs(args, [args.output, args.csv, args.plot, args.json or beside(args.plot)])
    trajectory = options.read(args, args.trajectory, world)
    if args.reference:
        reference, (against,) = options.reference(args, world, [trajectory]), short_names([args.reference])
    else:
        first = Dataset(args.trajectory, frames=trajectory.read([0]))
        descriptor = options.descriptor(args, [trajectory], world)  # multicomponent: every element of the trajectory
        describe([first], descriptor, quiet=True)
        reference = reference_of([first], descriptor, options.bandwidth(args, [first], world))
        against = "the first frame"
    keywords = options.dh_keywords(args, reference, world)

    def frame(index, atoms):
        x = reference.descriptor.compute_atoms(atoms, index=index)
        dh = reference.delta_entropy(x, centres=atoms.numbers, **keywords)
        own = entropy(x, reference.bandwidth, atoms.numbers if keywords["by_centre"] else None)
        return [index, len(x), own, dh.mean(), dh.max(), np.mean(dh > args.threshold)], dh, md_step(atoms)

    frames = per_frame(world, trajectory, frame, None if args.quiet else "frames", everywhere=False)
    if not world.is_root:
        return
    rows = [row for row, _, _ in frames]
    header = ["frame", "atoms", "entropy", "mean_dH", "max_dH", "novel_fraction"]
    steps = [step for _, _, step in frames]
    steps = None if None in steps else steps
    if steps is not None:
        header.insert(1, "step")
        rows = [[row[0], steps[row[0]], *row[1:]] for row in rows]
    table = {name: np.array([row[i] for row in rows]) for i, name in enumerate(header)}
    print_table([dict(zip(header, row)) for row in rows], header)
    if args.output:
        write_per_atom(args.output, trajectory, np.concatenate([dh for _, dh, _ in frames]))
    if args.csv:
        write_csv(args.csv, header, rows)
    if args.plot:
        from . import plots

        plots.save(
            plots.draw.trajectory(table, steps, short_names([args.trajectory])[0], against, args.threshold), args.plot
        )
    write_result(
        args,
        {
            "trajectory": args.trajectory,
            "reference": args.reference or against,
            "bandwidth": reference.bandwidth,
            "threshold": args.threshold,
            **{name: values.tolist() for name, values in table.items()},
        },
    )
