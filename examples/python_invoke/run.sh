#!/usr/bin/env bash
# Runs the example with Debian's LAMMPS (/usr/bin/lmp) and Python: the reference MD of
# examples/cu_melting and its reference file, then the heating run with the hook and the alarm.
# Usage: ./run.sh [number of MPI ranks for the heating run, default 1]
# Needs install-debian.sh (here) to have run; QUESTS_LMP_DEBIAN_ENV names its folder if not the default.
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="${QUESTS_LMP_DEBIAN_ENV:-$(cd ../.. && pwd)/.venv-debian}${PYTHONPATH:+:$PYTHONPATH}"
export LAMMPS_POTENTIALS=/usr/share/lammps/potentials
/usr/bin/lmp -in ../cu_melting/in.reference -log reference.log > /dev/null
/usr/bin/python3 -m quests_lmp.cli reference build reference.dump@1: --format lammps-dump-text --bandwidth auto \
    -o cu-fcc-300K.npz --overwrite
if [ "${1:-1}" -gt 1 ]; then
    mpirun --allow-run-as-root --oversubscribe -np "$1" -x PYTHONPATH -x LAMMPS_POTENTIALS /usr/bin/lmp -in in.melt -log melt.log
else
    /usr/bin/lmp -in in.melt -log melt.log
fi
