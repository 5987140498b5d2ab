"""How a front-end asks for dH: the keyword arguments of Reference.delta_entropy for a method and a
species mode, checked (ValueError naming the problem and the fix)."""

from __future__ import annotations

from .cluster_index import DEFAULT_CERTIFICATE, STOP_BELOW
from .knn import DEFAULT_NEIGHBORS
from .species import species_mode
from .validation import check_dh_options


def dh_options(
    method: str = "exact",
    neighbors: int | None = None,
    precision: str = "double",
    certificate: float | None = None,
    threshold: float = 0.0,
) -> dict:
    """Keyword arguments of Reference.delta_entropy for a monitor that calls atoms with dH above
    `threshold` (nats) novel: the options checked (ValueError), the method's own setting made
    explicit (neighbors of knn, certificate of approx) and, for approx, stop_below 1 nat under the
    threshold (never above -1), so that an atom stopped early is certainly covered."""
    method, neighbors, precision, certificate = check_dh_options(method, neighbors, precision, certificate)
    if method == "knn" and neighbors is None:
        neighbors = DEFAULT_NEIGHBORS
    if method == "approx" and certificate is None:
        certificate = DEFAULT_CERTIFICATE
    return {
        "method": method,
        "neighbors": neighbors,
        "precision": precision,
        "certificate": certificate,
        "stop_below": min(STOP_BELOW, float(threshold) - 1.0),
    }


def species_options(reference, species: str | None = None, unknown: str | None = None) -> dict:
    """Keyword arguments (by_centre, unknown) of Reference.delta_entropy for a front-end's species
    mode (quests_lmp.engine.species), checked against the reference's descriptors.

    species None follows the reference: "multicomponent" if it holds multicomponent descriptors,
    "blind" otherwise. unknown: what atoms of elements the reference lacks get, "error" or
    "novel"; None checks nothing in the species-blind modes (the paper's method compares any
    atoms) and means "error" by centre. ValueError for a mode the reference's descriptors cannot
    serve, a by-centre mode with a reference that records no centres, or an unknown `unknown`.
    """
    multicomponent = reference.multicomponent is not None
    wanted, by_centre = species_mode(species) if species is not None else (multicomponent, False)
    if wanted and not multicomponent:
        raise ValueError(
            f"species {species} needs a reference of multicomponent descriptors, and this one holds "
            "species-blind descriptors: rebuild it with quests-lmp reference build --species "
            "multicomponent"
        )
    if multicomponent and not wanted:
        raise ValueError(
            f"the reference holds multicomponent descriptors (elements "
            f"{' '.join(reference.multicomponent)}): use species multicomponent or "
            "multicomponent/by-centre, or leave species out"
        )
    reference._absent(reference.centres, by_centre, unknown)  # raises for a check the reference cannot serve
    return {"by_centre": by_centre, "unknown": unknown}
