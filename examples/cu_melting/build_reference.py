"""Builds cu-fcc-300K.npz from the frames of reference.dump (written by in.reference).

The file's default bandwidth is the paper's h(V) at the mean atomic volume of the frames
(SI Eq. S20), so that dH is on the scale the paper uses for thermodynamics (k_B per atom).
"""

import ase.io
import numpy as np

from quests_lmp import Reference, bandwidth_for_volume

frames = ase.io.read("reference.dump", index="1:", format="lammps-dump-text")  # skip the first frame
volume = np.mean([atoms.get_volume() / len(atoms) for atoms in frames])
reference = Reference.from_structures(frames, bandwidth=bandwidth_for_volume(volume), sources=["reference.dump"])
reference.save("cu-fcc-300K.npz", overwrite=True)
print(f"{reference}: mean volume {volume:.2f} A^3/atom")
