"""Where the compiled LAMMPS plugin of `fix quests` (questsplugin.so) is installed."""

from __future__ import annotations

import os

PLUGIN_FILE = "questsplugin.so"


def plugin_dir() -> str:
    """Folder of questsplugin.so (the quests_lmp package folder); the `lammps.plugins` entry point."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
