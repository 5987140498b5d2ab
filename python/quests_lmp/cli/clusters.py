"""`quests-lmp clusters TRAJ --reference REF`: clusters of solid-like atoms (dH <= threshold) per frame.

Runs under `mpiexec -n P`: the frames are split over the ranks.
"""

from __future__ import annotations

import numpy as np

from ..analysis.clusters import DEFAULT_DISTANCE, cluster_sizes
from ..engine.options import species_options
from . import options
from .datasets import md_step, short_names
from .distributed import per_frame
from .outputs import write_csv
from .report import beside, print_table, write_result


def register(commands) -> None:
    command = options.add_command(
        commands,
        "clusters",
        run,
        "clusters of solid-like atoms (dH <= threshold) per frame",
        [options.PLOT],
        parallel=True,
    )
    command.add_argument("trajectory")
    command.add_argument("--reference", required=True, help="reference of the solid: .npz or structures")
    command.add_argument(
        "--distance",
        type=options.positive(float),
        default=DEFAULT_DISTANCE,
        help=f"atoms closer than this (A) join a cluster ({DEFAULT_DISTANCE})",
    )
    command.add_argument("--threshold", type=float, default=0.0, help="solid-like: dH <= threshold (nats, 0)")


def run(args, world) -> None:
    options.check_outputs(args, [args.csv, args.plot, args.json or beside(args.plot)])
    trajectory = options.read(args, args.trajectory, world)
    reference = options.reference(args, world, [trajectory])
    species = species_options(reference, args.species)

    def frame(index, atoms):
        dh = reference.delta_entropy(
            reference.descriptor.compute_atoms(atoms, index=index), centres=atoms.numbers, **species
        )
        solid_like = dh <= args.threshold
        sizes = cluster_sizes(atoms, solid_like, args.distance)
        row = [index, len(atoms), int(solid_like.sum()), len(sizes), int(sizes[0]) if len(sizes) else 0]
        return row, sizes, md_step(atoms)

    frames = per_frame(world, trajectory, frame, None if args.quiet else "frames", everywhere=False)
    if not world.is_root:
        return
    rows, all_sizes = [row for row, _, _ in frames], [sizes for _, sizes, _ in frames]
    steps = [step for _, _, step in frames]
    header = ["frame", "atoms", "solid_like", "clusters", "largest"]
    print_table([dict(zip(header, row)) for row in rows], header)
    if args.csv:
        write_csv(args.csv, header, rows)
    if args.plot:
        from . import plots

        title = f"{short_names([args.trajectory])[0]} against {short_names([args.reference])[0]}"
        largest, sizes = [row[4] for row in rows], np.concatenate(all_sizes)
        plots.save(plots.draw.clusters(largest, sizes, None if None in steps else steps, title), args.plot)
    write_result(
        args,
        {
            "trajectory": args.trajectory,
            "reference": args.reference,
            "distance": args.distance,
            "threshold": args.threshold,
            **{name: [row[i] for row in rows] for i, name in enumerate(header)},
            "sizes": [sizes.tolist() for sizes in all_sizes],
        },
    )
