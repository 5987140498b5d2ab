"""Where the compiled LAMMPS plugin of `fix quests` is installed.

Two files: questsplugin.so, which LAMMPS loads and which checks the LAMMPS version, and
questsimpl.so, the fix itself (lammps_plugin/CMakeLists.txt says why there are two)."""

from __future__ import annotations

import os

PLUGIN_FILE = "questsplugin.so"
PLUGIN_FILES = (PLUGIN_FILE, "questsimpl.so")


def plugin_dir() -> str:
    """Folder of questsplugin.so (the quests_lmp package folder); the `lammps.plugins` entry point."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
