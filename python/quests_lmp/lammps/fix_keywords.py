"""The arguments of `fix ID group quests N file keyword value ...`, read and checked here for the
C++ fix (lammps_plugin/), which hands over its words and the run's context and reports any
ValueError as `ERROR: Fix quests: <message>`.

The keywords of how dH is computed are the fields of quests_lmp.engine.options.DhOptions, one
value each; those of this front-end are ELEMENTS (one element per atom type), COLLECT and BIAS.
"""

from __future__ import annotations

from ..engine.options import LAMMPS, DhOptions, read_value
from ..parallel import World
from .fix import FixEngine

COLLECT = ("collect", "collect_threshold", "collect_max", "discard_above", "collect_buffer")
BIAS_KINDS = {"explore": "eV/nat", "wall": "eV/nat^2"}  # the unit of each bias's strength LAMBDA
KEYWORDS = (*DhOptions.names(), "elements", *COLLECT, "bias")


def create_engine(words, *, types: int, every: int, atom_ids: bool, comm=None) -> FixEngine:
    """The FixEngine of a fix's words (the reference file, then keyword value pairs) in a run of
    `types` atom types, evaluated every `every` steps; atom_ids: whether the atoms have IDs
    (collect records them); comm: the run's communicator for collect
    (quests_lmp.lammps.host_comm.HostComm; None for one rank). ValueError naming the keyword and
    what it needs."""
    reference_file, *rest = words
    given = keyword_values(rest, types)
    options = DhOptions.from_text({name: values[0] for name, values in given.items()}, LAMMPS)
    elements = given.get("elements")
    if options.unknown is not None and not elements:
        raise ValueError("unknown needs elements E1 E2 ... (one element per atom type)")
    if options.species not in (None, "blind") and not elements:
        raise ValueError(
            f"species {options.species} needs elements E1 E2 ... (one element per atom type, as pair_coeff)"
        )
    collect = _collect_settings(given, elements, atom_ids)
    bias = _bias(given.get("bias"), every)
    engine = FixEngine(reference_file, options=options, elements=elements, bias=bias)
    if collect:
        engine.collect_into(**collect, world=None if comm is None else World(comm=comm))
    return engine


def keyword_values(words, types: int) -> dict[str, list[str]]:
    """The words after the reference file as {keyword: its values}: one value each, but elements
    (one per atom type), bias (three) and collect_max (one or two)."""
    given, i = {}, 0
    while i < len(words):
        keyword = words[i]
        if keyword not in KEYWORDS:
            raise ValueError(f"unknown keyword '{keyword}' (expected {', '.join(KEYWORDS[:-1])} or {KEYWORDS[-1]})")
        if i + 1 >= len(words):
            raise ValueError(f"keyword '{keyword}' needs a value")
        count = 1
        if keyword == "elements":
            count = next((n for n, word in enumerate(words[i + 1 :]) if word in KEYWORDS), len(words) - i - 1)
            if count != types:
                listed = " ".join(words[i + 1 : i + 1 + count])
                raise ValueError(f"elements needs one element per atom type ({types} types), got {count}: {listed}")
        elif keyword == "bias":
            count = 3
            if i + 3 >= len(words):
                raise ValueError(
                    "bias needs three values: explore LAMBDA CAP (eV/nat, nats) or wall LAMBDA THRESHOLD "
                    "(eV/nat^2, nats)"
                )
        elif keyword == "collect_max" and i + 2 < len(words) and words[i + 2] not in KEYWORDS:
            count = 2
        given[keyword] = list(words[i + 1 : i + 1 + count])
        i += 1 + count
    return given


def _collect_settings(given: dict, elements, atom_ids: bool) -> dict:
    """The keyword arguments of FixEngine.collect_into from the collect keywords ({} without)."""
    if not any(name in given for name in COLLECT):
        return {}
    if "collect" not in given:
        raise ValueError(
            "collect_threshold, collect_max, discard_above and collect_buffer need collect FILE (the extxyz "
            "file the environments are appended to)"
        )
    if not elements:
        raise ValueError(
            "collect writes element symbols: add elements E1 E2 ... (one element per atom type, as pair_coeff)"
        )
    if not atom_ids:
        raise ValueError("collect records atom IDs, but this system has none (atom_modify id no)")
    settings = {"path": given["collect"][0]}
    for keyword, argument in (("collect_threshold", "threshold"), ("discard_above", "discard_above")):
        if keyword in given:
            settings[argument] = _number(given[keyword][0], keyword)
    if "collect_buffer" in given:
        settings["buffer"] = buffer = _number(given["collect_buffer"][0], "collect_buffer")
        if not buffer >= 0:
            raise ValueError(
                f"collect_buffer must be >= 0 (A beyond the descriptor cutoff), got {given['collect_buffer'][0]}"
            )
    if "collect_max" in given:
        counts = given["collect_max"]
        settings["max_per_evaluation"] = _count(counts[0], "collect_max must be", "environments per evaluation")
        if len(counts) == 2:
            settings["max_per_run"] = _count(counts[1], "collect_max's second value must be", "environments in all")
    return settings


def _bias(values, every: int) -> tuple | None:
    """(kind, strength, level) of the bias keyword's three words; None without it."""
    if values is None:
        return None
    kind, strength, level = values
    if kind not in BIAS_KINDS:
        raise ValueError(f"bias must be explore or wall, got '{kind}'")
    if every != 1:
        raise ValueError(f"bias applies forces at every step: N must be 1, got {every}")
    lam = _number(strength, "bias")
    if not lam > 0:
        raise ValueError(f"the bias strength LAMBDA must be > 0 ({BIAS_KINDS[kind]}), got {strength}")
    return kind, lam, _number(level, "bias")


def _number(text: str, keyword: str) -> float:
    return read_value("number", text, keyword, LAMMPS)


def _count(text: str, subject: str, meaning: str) -> int:
    """An integer >= 1 (a number of environments); ValueError "<subject> an integer >= 1 ..."."""
    try:
        value = read_value("integer", text, "collect_max", LAMMPS)
    except ValueError:
        value = None
    if value is None or value < 1:
        shown = text if value is not None else f"'{text}'"
        raise ValueError(f"{subject} an integer >= 1 ({meaning}), got {shown}")
    return value
