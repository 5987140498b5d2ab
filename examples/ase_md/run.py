"""Cu melting alarm in ASE molecular dynamics: the QUESTS monitor attached to an ASE integrator.

    python run.py            # 500 atoms, about 1 min on one core
    python run.py --quick    # 108 atoms (what tests/test_examples.py runs)

ASE's EMT Cu: 10 frames of an FCC crystal at 300 K (Langevin, fixed volume) become the reference
(bandwidth h(V) at their atomic volume; saved as cu-fcc-300K.npz), then the crystal is heated at 0 bar (Berendsen NPT)
from 300 K towards 3000 K with QuestsMonitor attached every 20 steps. The run stops itself
(NoveltyAlarm) once more than 2% of the atoms are novel (dH > 0). quests-alarm.csv logs step,
time, max/mean dH and the novel fraction; novel.extxyz holds the frames with novel atoms and
their per-atom dH; heating.csv the temperature and potential energy per atom.
"""

from __future__ import annotations

import argparse
import csv

import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.md.langevin import Langevin
from ase.md.nptberendsen import NPTBerendsen
from quests_lmp import Reference, bandwidth_for_volume
from quests_lmp.ase import NoveltyAlarm, QuestsMonitor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="108 atoms instead of 500")
    args = parser.parse_args()
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3 if args.quick else 5)
    atoms.calc = EMT()

    # the reference: the crystal at 300 K (the thermostat heats it from rest in the first 200 steps)
    equilibrate = Langevin(
        atoms, 5 * units.fs, temperature_K=300, friction=0.05, fixcm=False, rng=np.random.default_rng(2)
    )
    equilibrate.run(200)
    frames = []
    for _ in range(10):
        equilibrate.run(20)
        frames.append(atoms.copy())
    h = bandwidth_for_volume(atoms.get_volume() / len(atoms))
    reference = Reference.from_structures(frames, bandwidth=h)
    reference.save("cu-fcc-300K.npz", overwrite=True)
    print(f"reference: {reference.n_environments} environments of FCC Cu at 300 K, h = {h:.4f} 1/A")

    dyn = NPTBerendsen(
        atoms,
        5 * units.fs,
        temperature_K=300,
        pressure_au=0.0,
        taut=100 * units.fs,
        taup=500 * units.fs,
        compressibility_au=1 / (140 * units.GPa),
    )
    monitor = QuestsMonitor(
        dyn, atoms, reference, log="quests-alarm.csv", stop_fraction=0.02, novel_frames="novel.extxyz"
    )
    rows = []

    def heat() -> None:  # 300 K -> 3000 K at 270 K/ps, the thermostat's target raised every 20 steps
        target = min(3000.0, 300.0 + 270.0 * dyn.get_time() / (1000 * units.fs))
        dyn.set_temperature(temperature_K=target)
        rows.append([dyn.nsteps, target, atoms.get_temperature(), atoms.get_potential_energy() / len(atoms)])

    dyn.attach(heat, interval=20)
    dyn.attach(monitor, interval=20)
    try:
        dyn.run(4000)
        print("no alarm: the crystal stayed inside the reference")
    except NoveltyAlarm as alarm:
        print(alarm)
        print(f"temperature at the alarm: {atoms.get_temperature():.0f} K")
    with open("heating.csv", "w", newline="") as stream:
        table = csv.writer(stream)
        table.writerow(["step", "target_K", "temperature_K", "pe_eV_per_atom"])
        table.writerows(rows)


if __name__ == "__main__":
    main()
