"""`quests-lmp plugin-path`: the folder of the LAMMPS plugin questsplugin.so, for `plugin load`."""

from __future__ import annotations

import os

from ..lammps.plugin import PLUGIN_FILE, plugin_dir


def register(commands) -> None:
    command = commands.add_parser("plugin-path", help=f"print the folder of the LAMMPS plugin ({PLUGIN_FILE})")
    command.set_defaults(handler=run)


def run(args, world) -> None:
    folder = plugin_dir()
    if not os.path.isfile(os.path.join(folder, PLUGIN_FILE)):
        raise FileNotFoundError(f"no {PLUGIN_FILE} in {folder}; reinstall with `pip install .`")
    print(folder)
