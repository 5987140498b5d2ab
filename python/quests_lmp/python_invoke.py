"""The deck path of the `fix python/invoke` hook, kept stable for input decks:

    python quests_setup input 1 SELF format p here "from quests_lmp.python_invoke import quests_setup"

The hook itself is quests_lmp.lammps.python_invoke (the LAMMPS front-ends); see doc/python_invoke.md.
"""

from .lammps.python_invoke import quests_setup

__all__ = ["quests_setup"]
