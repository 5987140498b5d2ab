"""quests-lmp: QUESTS information entropy and per-atom uncertainty for LAMMPS and offline analysis.

Descriptors (1/A), entropy H, differential entropy dH and diversity D (nats) as in
Schwalbe-Koda et al., "Information theory unifies atomistic machine learning, uncertainty
quantification, and materials thermodynamics".
"""

import importlib as _importlib

from .engine.deprecation import warn_renamed as _warn_renamed
from .engine.descriptor import DEFAULT_CUTOFF, DEFAULT_K, Descriptor, MulticomponentDescriptor
from .engine.frames import read_structures
from .engine.information import (
    DEFAULT_BANDWIDTH,
    bandwidth_for_volume,
    delta_entropy,
    diversity,
    entropy,
    entropy_and_diversity,
    entropy_by_element,
    novelty,
    overlap,
    self_delta_entropy,
)
from .engine.options import DhOptions
from .engine.reference import Reference, ReferenceFileError

# Building blocks of the front-ends, once exported here: importable from their modules, and from
# here with a warning (doc/glossary.md).
_MOVED = {
    "DESCRIPTOR_VERSION": "quests_lmp.engine.descriptor",
    "descriptor_vjp": "quests_lmp.engine.gradients",
    "dh_and_gradient": "quests_lmp.engine.gradients",
    "entropy_and_diversity_from_self_dh": "quests_lmp.engine.information",
    "entropy_by_element_from_self_dh": "quests_lmp.engine.information",
    "sampled_entropy_and_diversity": "quests_lmp.engine.information",
    "sampled_entropy_by_element": "quests_lmp.engine.information",
}


def __getattr__(name: str):
    if name in _MOVED:
        _warn_renamed(f"quests_lmp.{name}", f"{_MOVED[name]}.{name}")
        return getattr(_importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'quests_lmp' has no attribute {name!r}")


__all__ = [
    "DEFAULT_BANDWIDTH",
    "DEFAULT_CUTOFF",
    "DEFAULT_K",
    "Descriptor",
    "DhOptions",
    "MulticomponentDescriptor",
    "Reference",
    "ReferenceFileError",
    "bandwidth_for_volume",
    "delta_entropy",
    "diversity",
    "entropy",
    "entropy_and_diversity",
    "entropy_by_element",
    "novelty",
    "overlap",
    "read_structures",
    "self_delta_entropy",
]
