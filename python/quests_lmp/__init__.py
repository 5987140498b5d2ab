"""quests-lmp: QUESTS information entropy and per-atom uncertainty for LAMMPS and offline analysis.

Descriptors (1/A), entropy H, differential entropy dH and diversity D (nats) as in
Schwalbe-Koda et al., "Information theory unifies atomistic machine learning, uncertainty
quantification, and materials thermodynamics".
"""

from .engine.descriptor import DEFAULT_CUTOFF, DEFAULT_K, DESCRIPTOR_VERSION, Descriptor, MulticomponentDescriptor
from .engine.frames import read_structures
from .engine.gradients import descriptor_vjp, dh_and_gradient
from .engine.information import (
    DEFAULT_BANDWIDTH,
    bandwidth_for_volume,
    delta_entropy,
    diversity,
    entropy,
    entropy_and_diversity,
    entropy_and_diversity_from_self_dh,
    entropy_by_element,
    entropy_by_element_from_self_dh,
    novelty,
    overlap,
    sampled_entropy_and_diversity,
    sampled_entropy_by_element,
    self_delta_entropy,
)
from .engine.reference import Reference, ReferenceFileError

__all__ = [
    "DEFAULT_BANDWIDTH",
    "DEFAULT_CUTOFF",
    "DEFAULT_K",
    "DESCRIPTOR_VERSION",
    "Descriptor",
    "MulticomponentDescriptor",
    "Reference",
    "ReferenceFileError",
    "bandwidth_for_volume",
    "delta_entropy",
    "descriptor_vjp",
    "dh_and_gradient",
    "diversity",
    "entropy",
    "entropy_and_diversity",
    "entropy_and_diversity_from_self_dh",
    "entropy_by_element",
    "entropy_by_element_from_self_dh",
    "novelty",
    "overlap",
    "read_structures",
    "sampled_entropy_and_diversity",
    "sampled_entropy_by_element",
    "self_delta_entropy",
]
