"""`quests-lmp bandwidth V [V ...]`: the kernel bandwidth h(V) for atomic volumes (SI Eq. S20)."""

from __future__ import annotations

from ..engine.information import bandwidth_for_volume
from . import options
from .report import print_table, write_result


def register(commands) -> None:
    command = options.add_command(commands, "bandwidth", run, "kernel bandwidth h(V) for atomic volumes (SI Eq. S20)")
    command.add_argument(
        "volumes", nargs="+", type=options.positive(float), metavar="V", help="volume per atom, A^3/atom"
    )


def run(args, world) -> None:
    options.check_outputs(args, [args.json])
    rows = [{"volume": volume, "bandwidth": bandwidth_for_volume(volume)} for volume in args.volumes]
    print_table(rows, ["volume", "bandwidth"])
    write_result(args, {"bandwidths": rows})
