"""One declaration of the dH options (engine.options.DhOptions): every front-end takes each field,
every rule lives in its check, and the C++ fix reads no keyword."""

from __future__ import annotations

import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest
from lammps_runner import cu_reference
from quests_lmp.ase import QuestsMonitor
from quests_lmp.cli.main import parser
from quests_lmp.engine.options import HOOK, LAMMPS, PYTHON, DhOptions
from quests_lmp.lammps import fix_keywords, python_invoke
from quests_lmp.lammps.fix import FixEngine

PLUGIN = Path(__file__).resolve().parents[1] / "lammps_plugin"


@pytest.fixture(scope="module")
def reference_file(tmp_path_factory):
    return str(cu_reference(tmp_path_factory.mktemp("options")))


def test_every_option_is_a_fix_keyword_a_hook_variable_and_a_keyword_of_the_python_front_ends():
    names = DhOptions.names()
    assert set(names) <= set(fix_keywords.KEYWORDS) and set(names) <= set(python_invoke.PARAMETERS)
    for front_end in (FixEngine, QuestsMonitor):  # options by keyword: any field, nothing listed twice
        parameters = inspect.signature(front_end).parameters
        assert "options" in parameters and not set(names) & set(parameters)
        assert all(p.kind is not p.POSITIONAL_OR_KEYWORD for name, p in parameters.items() if name == "options")
    flags = {action.dest for action in parser()._subparsers._group_actions[0].choices["dh"]._actions}
    assert {option.name for option in fields(DhOptions) if option.metadata["cli"]} <= flags
    assert all(option.metadata["doc"] for option in fields(DhOptions))


@pytest.mark.parametrize(
    "values, python, lammps, hook",
    [
        (
            {"method": "fast"},
            "method must be 'exact', 'approx' or 'knn', got 'fast'",
            "method must be exact, approx or knn, got 'fast'",
            "method must be 'exact', 'approx' or 'knn', got 'fast' (variables quests_method)",
        ),
        (
            {"neighbors": "16"},
            "neighbors is a setting of method knn, not exact; leave it out or use method knn",
            "neighbors is a keyword of method knn, not exact; leave it out or use method knn",
            "neighbors is a setting of method knn, not exact; leave it out or use method knn (variables "
            "quests_neighbors, quests_method)",
        ),
        (
            {"method": "approx", "certificate": "-0.1"},
            "certificate must be a number of nats >= 0 (the largest over-estimate of dH allowed; 0.1 by default), "
            "got -0.1",
            "certificate must be >= 0 (nats, the largest over-estimate of dH allowed; 0.1 by default), got -0.1",
            "certificate must be a number of nats >= 0 (the largest over-estimate of dH allowed; 0.1 by default), "
            "got -0.1 (variables quests_certificate)",
        ),
        (
            {"threshold": "0", "force_alarm": "0.2"},
            "threshold (nats) and force_alarm (eV/A) both set the alarm: give one of them",
            "threshold (nats) and force_alarm (eV/A) both set the alarm: give one of them",
            "threshold (nats) and force_alarm (eV/A) both set the alarm: give one of them (variables "
            "quests_threshold, quests_force_alarm)",
        ),
        (
            {"bandwidth": "wide"},
            None,
            "Expected floating point parameter instead of 'wide' for keyword bandwidth",
            "quests_bandwidth must be a number, got 'wide'",
        ),
        (
            {"force_error": "maybe"},
            None,
            "Expected boolean parameter instead of 'maybe' for keyword force_error",
            "quests_force_error must be yes or no, got 'maybe'",
        ),
    ],
)
def test_one_rule_in_the_words_of_each_front_end(values, python, lammps, hook):
    if python is not None:  # Python arguments are values, not texts
        typed = {name: {"method": str, "neighbors": int}.get(name, float)(v) for name, v in values.items()}
        with pytest.raises(ValueError) as raised:
            DhOptions(**typed).checked(PYTHON)
        assert str(raised.value) == python
    for dialect, message in ((LAMMPS, lammps), (HOOK, hook)):
        with pytest.raises(ValueError) as raised:
            DhOptions.from_text(values, dialect)
        assert str(raised.value) == message


def test_text_is_read_as_its_declared_type():
    options = DhOptions.from_text(
        {"method": "knn", "neighbors": "16", "threshold": "-1.5", "force_error": "yes", "bandwidth": "0.02"}, LAMMPS
    )
    assert options == DhOptions(bandwidth=0.02, method="knn", neighbors=16, threshold=-1.5, force_error=True)
    assert type(options.neighbors) is int and options.method_keywords()["neighbors"] == 16
    assert DhOptions(method="approx").checked().method_keywords()["certificate"] == 0.1


@pytest.mark.parametrize(
    "words, message",
    [
        ("speed 3", "unknown keyword 'speed' (expected bandwidth, method, neighbors, certificate, precision,"),
        ("threshold", "keyword 'threshold' needs a value"),
        ("method fast", "method must be exact, approx or knn, got 'fast'"),
        ("elements Ni Al", "elements needs one element per atom type (1 types), got 2: Ni Al"),
        ("unknown novel", "unknown needs elements E1 E2 ... (one element per atom type)"),
        ("collect_max 3", "collect_threshold, collect_max, discard_above and collect_buffer need collect FILE"),
        ("elements Cu collect c.extxyz collect_max 5 abc", "collect_max's second value must be an integer >= 1"),
        ("bias wall 0 0.0", "bias applies forces at every step: N must be 1, got 5"),
    ],
)
def test_every_keyword_error_comes_from_the_python_check(reference_file, words, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fix_keywords.create_engine([reference_file, *words.split()], types=1, every=5, atom_ids=True)


def test_the_fix_keywords_reach_the_engine(reference_file, tmp_path):
    words = f"method knn neighbors 7 threshold -2 elements Cu collect {tmp_path / 'c.extxyz'} collect_max 3 9"
    engine = fix_keywords.create_engine([reference_file, *words.split()], types=1, every=5, atom_ids=True)
    assert engine.dh_options == DhOptions(method="knn", neighbors=7, threshold=-2.0)
    assert engine.options["neighbors"] == 7 and engine.threshold == -2.0 and engine.options["unknown"] == "error"
    settings = engine.collector.settings
    assert (settings.max_per_evaluation, settings.max_per_run, engine.collect_file) == (
        3,
        9,
        str(tmp_path / "c.extxyz"),
    )
    assert not engine.has_bias and not engine.has_force_error


def test_the_plugin_reads_no_keyword():
    """The C++ fix parses N and hands every other word to fix_keywords: it reads no keyword."""
    source = (PLUGIN / "fix_quests.cpp").read_text()
    assert set(re.findall(r"\barg\[([^\]]+)\]", source)) == {"3", "4", "iarg"}
    assert source.count("arg[iarg]") == 1  # copied into the words the engine reads
    assert not re.search(r"utils::(numeric|logical|bnumeric)\(", source)
    assert re.findall(r"utils::inumeric\([^)]*\)", source) == ["utils::inumeric(FLERR, arg[3], false, lmp)"]
    assert "EngineOptions" not in "".join(path.read_text() for path in PLUGIN.glob("*.[ch]*"))
