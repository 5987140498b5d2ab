"""LAMMPS front-ends over the engine.

fix            Python side of the C++ `fix quests` plugin (FixEngine, one per MPI rank)
fix_keywords   the fix's keywords, read and checked (the C++ hands its words over)
collection     novel environments collected into extxyz files, over the run's ranks
host_comm      LAMMPS's own MPI, reached through the plugin, for the collection
thermo         thermo tables of a log, rows holding inf or nan kept
python_invoke  the `fix python/invoke` hook for LAMMPS builds with PYTHON and no PLUGIN
               (decks import it as quests_lmp.python_invoke, the stable deck path)
plugin         where the compiled plugin (questsplugin.so, questsimpl.so) is installed
installation   the headers, library, version and C++ ABI of a LAMMPS (CMake runs it at pip install)
build          compiling the plugin for a LAMMPS of the user's own (quests-lmp build-plugin)
"""
