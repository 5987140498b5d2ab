#!/usr/bin/env bash
# Runs the example with Debian's LAMMPS (/usr/bin/lmp): the reference MD and reference file of
# examples/cu_melting, then the heating run with the hook and the alarm.
# Usage: ./run.sh [number of MPI ranks for the heating run, default 1]
# Needs install-debian.sh (here) to have run; QUESTS_LMP_DEBIAN_ENV names its folder if not the default.
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="${QUESTS_LMP_DEBIAN_ENV:-$(cd ../.. && pwd)/.venv-debian}${PYTHONPATH:+:$PYTHONPATH}"
export LAMMPS_POTENTIALS=/usr/share/lammps/potentials
/usr/bin/lmp -in ../cu_melting/in.reference -log reference.log > /dev/null
/usr/bin/python3 ../cu_melting/build_reference.py
if [ "${1:-1}" -gt 1 ]; then
    mpirun --allow-run-as-root --oversubscribe -np "$1" -x PYTHONPATH -x LAMMPS_POTENTIALS /usr/bin/lmp -in in.melt -log melt.log
else
    /usr/bin/lmp -in in.melt -log melt.log
fi
