#!/usr/bin/env bash
# Makes quests_lmp importable by Debian's LAMMPS (apt package lammps, 29 Sep 2021), whose embedded
# Python is /usr/bin/python3: installs the Debian packages (when run as root and they are missing;
# OpenBLAS, or numpy falls back to the reference BLAS, 7x slower here),
# then quests_lmp and the pinned packages of requirements-debian.txt into one folder for PYTHONPATH.
#
# Usage: examples/python_invoke/install-debian.sh [FOLDER]     (default: .venv-debian in the repository)
# Then:  PYTHONPATH=FOLDER lmp -in in.deck       (or: mpirun -np 4 -x PYTHONPATH=FOLDER lmp -in in.deck)
#
# Without Debian's LAMMPS (no apt, no network, not root) it says so and exits 0: the tests of the
# fix python/invoke path are then skipped, with this reason.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${1:-$repo/.venv-debian}"
packages=(lammps python3-lammps python3-numpy python3-mpi4py python3-pip openmpi-bin libopenblas0-pthread)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
        echo "install-debian.sh: Debian's LAMMPS is not installed (missing: ${missing[*]}); as root run" \
             "'apt-get install ${packages[*]}' and then this script again. Skipping." >&2
        exit 0
    fi
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${packages[@]}"; } > /tmp/quests-lmp-apt.log 2>&1; then
        echo "install-debian.sh: apt-get could not install ${missing[*]} (see /tmp/quests-lmp-apt.log);" \
             "the fix python/invoke path is not set up. Skipping." >&2
        tail -n 5 /tmp/quests-lmp-apt.log >&2
        exit 0
    fi
fi

/usr/bin/python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade --no-deps --only-binary=:all: \
    --target "$target" -r "$here/requirements-debian.txt"
rm -rf "$target/quests_lmp"
cp -r "$repo/python/quests_lmp" "$target/quests_lmp"
find "$target/quests_lmp" -name __pycache__ -prune -exec rm -rf {} +
/usr/bin/python3 -c "import sys; sys.path.insert(0, '$target'); import quests_lmp.python_invoke" \
    || { echo "install-debian.sh: quests_lmp does not import in /usr/bin/python3 from $target" >&2; exit 1; }
echo "quests_lmp for Debian's LAMMPS is in $target: run LAMMPS with PYTHONPATH=$target"
