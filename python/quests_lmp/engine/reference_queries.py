"""The queries of a Reference: dH of new environments against it (exact, certified approximate or
over nearest neighbors; species-blind or by centre element), with gradients for forces, and H
and D of the set itself.

ReferenceQueries is the part of quests_lmp.engine.reference.Reference that answers them.
"""

from __future__ import annotations

import numpy as np

from .cluster_index import DEFAULT_CERTIFICATE, STOP_BELOW
from .descriptor import frames_of
from .gradients import dh_and_gradient
from .information import entropy_and_diversity
from .kernel import KernelOperand, log_kernel_sums
from .options import DhOptions
from .species import as_centres, by_element, element_rows, missing_elements
from .validation import as_descriptors, check_bandwidths, is_atoms


class ReferenceQueries:
    """dH, its gradient and H, D against the descriptors of a Reference (its `descriptors`,
    `centres`, `bandwidth`, `descriptor`, `_operands` and search structures)."""

    def delta_entropy(
        self,
        test,
        h=None,
        *,
        method: str = "exact",
        neighbors: int | None = None,
        precision: str = "double",
        certificate: float | None = None,
        stop_below: float = STOP_BELOW,
        by_centre: bool = False,
        centres=None,
        unknown: str | None = None,
    ) -> np.ndarray:
        """dH(test | reference) of each test environment (Eq. 6, exactly or approximately).

        Parameters
        ----------
        test : (n, n_features) array in 1/A, or ase.Atoms or a list of them
            Test descriptors, or structures (described here with this reference's descriptor).
        h : float or list of floats, 1/A, optional
            Bandwidth(s); the reference's own by default.
        method : str
            "exact" (Eq. 6); "approx": partial kernel sums over a cluster index, certified to be
            at most `certificate` nats above the exact dH (quests_lmp.engine.cluster_index), the
            method for large references; or "knn": the kernel sum over the `neighbors` nearest
            reference vectors (SI Eq. S19, quests_lmp.engine.knn), an over-estimate with
            no bound.
        neighbors : int, optional
            Reference vectors kept per test vector by "knn" (128).
        precision : str
            "double", or "single" for exact dH about 1.7x faster: float32 products of the
            vectors less the reference mean, float64 sums; off by at most about 1e-4 nats at
            h = 0.015 1/A (quests_lmp.engine.kernel).
        certificate : float, nats, optional
            Largest over-estimate of dH that "approx" allows (0.1); 0 sums until nothing is left
            out (exact up to float32 rounding).
        stop_below : float, nats
            "approx" stops summing once dH is certainly below this (-1): such environments get a
            value between their exact dH and stop_below. -inf: certified values everywhere.
        by_centre : bool
            Compare each test environment only with the reference environments whose centre is the
            same element (quests_lmp.engine.species); the reference must record its centres.
        centres : (n,) array of int, optional
            Atomic number of each test environment's centre, for test descriptors (structures
            carry their own): needed by by_centre and unknown.
        unknown : str, optional
            What a test centre of an element the reference does not hold gets: "error" (ValueError
            naming it) or "novel" (dH = +inf). By default "error" with by_centre, and no check
            without it (the species-blind descriptor compares any atoms).

        Returns
        -------
        (n,) float64 array in nats for one h, (n, n_h) for a list.

        Raises
        ------
        ValueError
            An unknown method or precision, a setting of another method (neighbors without knn,
            certificate without approx, single with approx or knn), an invalid bandwidth, test
            descriptors that are empty, non-finite or of another width, by_centre or unknown with a
            reference or test that records no elements, or an element the reference lacks.
        """
        checked = DhOptions(method=method, neighbors=neighbors, precision=precision, certificate=certificate).checked()
        y, test_centres = self._test_descriptors(test, centres)
        bandwidths, scalar = check_bandwidths(self.bandwidth if h is None else h)
        options = checked.method_keywords(float(stop_below))
        absent = self._absent(test_centres, by_centre, unknown)
        if by_centre:

            def values_of(z, rows):
                part = self.element_part(z)
                return None if part is None else part._delta_entropy(y[rows], bandwidths, **options)

            dh = by_element(test_centres, bandwidths.size, values_of, np.inf)
        else:
            dh = self._delta_entropy(y, bandwidths, **options)
            if absent is not None:
                dh[absent] = np.inf
        return dh[:, 0] if scalar else dh

    def _delta_entropy(self, y, bandwidths, method, neighbors, precision, certificate, stop_below) -> np.ndarray:
        """(n, n_h) dH of checked test descriptors against every environment of this reference."""
        if method == "exact":
            if precision not in self._operands:
                self._operands[precision] = KernelOperand(self.descriptors, precision)
            return -log_kernel_sums(y, self._operands[precision], bandwidths)
        if method == "approx":
            return self.cluster_index().delta_entropy(y, bandwidths, certificate, stop_below)
        return self.knn_index().delta_entropy(y, bandwidths, neighbors)

    def delta_entropy_and_gradient(
        self,
        y,
        h: float | None = None,
        *,
        centres=None,
        by_centre: bool = False,
        method: str = "exact",
        certificate: float | None = None,
        stop_below: float = STOP_BELOW,
    ) -> tuple[np.ndarray, np.ndarray]:
        """dH of test descriptors against this reference, species-blind, and its gradient with
        respect to the descriptors: what the forces of a bias need (quests_lmp.engine.bias).

        Parameters
        ----------
        y : (n, n_features) array, 1/A
            Test descriptors.
        h : float, 1/A, optional
            Bandwidth; the reference's own by default.
        method : str
            "exact": Eq. 6 in float64 (quests_lmp.engine.gradients.dh_and_gradient); "approx":
            the certified partial sum of delta_entropy in float64 terms, and the gradient of that
            same partial sum, the units it visits held fixed (quests_lmp.engine.cluster_index).
        certificate : float, nats, optional
            As delta_entropy (approx only; 0.1).
        stop_below : float, nats
            As delta_entropy (-1).
        by_centre : bool
            Compare each test environment only with the reference environments of its centre's
            element (species by-centre; the reference must record its centres).
        centres : (n,) array of int, optional
            Atomic number of each test environment's centre (needed by by_centre).

        Returns
        -------
        (dh, gradient): (n,) float64 in nats and (n, n_features) in nats * A.

        Raises
        ------
        ValueError
            Method knn (its truncation has no bound; its forces are not implemented), an unknown
            method, certificate without approx, a bad bandwidth, test descriptors that are empty,
            non-finite or of another width; by_centre without centres, or with a centre element
            the reference lacks (its dH is infinite, with no force).
        """
        checked = DhOptions(method=method, certificate=certificate).checked()
        method, certificate = checked.method, checked.certificate
        y = as_descriptors(y, "test descriptors")
        if y.shape[1] != self.descriptors.shape[1]:
            raise ValueError(f"test descriptors have {y.shape[1]} features, the reference {self.descriptors.shape[1]}")
        h = float(check_bandwidths(self.bandwidth if h is None else h)[0][0])
        if by_centre:
            return self._by_centre_gradients(y, h, method, certificate, stop_below, centres)
        if method == "exact":
            return dh_and_gradient(y, self.descriptors, h)
        if method == "approx":
            return self.cluster_index().delta_entropy_and_gradient(
                y, h, DEFAULT_CERTIFICATE if certificate is None else certificate, float(stop_below)
            )
        raise ValueError(
            "forces of method knn are not implemented (its truncation has no bound): use method "
            "exact, or approx for a large reference"
        )

    def _by_centre_gradients(self, y, h, method, certificate, stop_below, centres) -> tuple[np.ndarray, np.ndarray]:
        """delta_entropy_and_gradient of checked descriptors, element by element of the centres."""
        centres = None if centres is None else as_centres(centres, len(y))
        self._absent(centres, True, "error")  # no centres, or an element the reference lacks: ValueError
        dh, gradient = np.empty(len(y)), np.empty_like(y)
        for z, rows in element_rows(centres).items():
            dh[rows], gradient[rows] = self.element_part(z).delta_entropy_and_gradient(
                y[rows], h, method=method, certificate=certificate, stop_below=stop_below
            )
        return dh, gradient

    def _absent(self, test_centres, by_centre: bool, unknown: str | None) -> np.ndarray | None:
        """Mask of the test centres of elements this reference lacks, where they are allowed (as
        novel); None if there is nothing to check. ValueError for a check that cannot be made or
        fails."""
        if unknown not in (None, "error", "novel"):
            raise ValueError(f"unknown must be error or novel, got {unknown!r}")
        if not by_centre and unknown is None:
            return None
        rebuild = "rebuild the reference from its structures (quests-lmp reference build)"
        if self.centres is None:
            raise ValueError(
                f"this reference records no centre elements (a file of format version 1, or "
                f"descriptors given without centres), so it cannot compare by element: {rebuild}"
            )
        if test_centres is None:
            raise ValueError(
                "comparing by element needs the element of each test environment's centre: "
                "pass structures, or centres= with the descriptors"
            )
        known = np.unique(self.centres)
        if missing := missing_elements(test_centres, known):
            if unknown != "novel":
                are = "elements {} are" if len(missing) > 1 else "element {} is"
                raise ValueError(
                    f"{are.format(', '.join(missing))} not in the reference (elements "
                    f"{' '.join(self.elements)}): add such environments to the reference, or count "
                    "these atoms as novel (unknown novel)"
                )
            return ~np.isin(test_centres, known)
        return None

    def entropy_and_diversity(self, h=None, by_centre: bool = False):
        """H and D of the reference set itself (Eqs. 5 and 8).

        Parameters
        ----------
        h : float or list of floats, 1/A, optional
            Bandwidth(s); the reference's own by default.
        by_centre : bool
            Those of the union of the per-element sets (quests_lmp.engine.information).

        Returns
        -------
        (H, D) in nats: floats for one h, arrays for a list.

        Raises
        ------
        ValueError
            An invalid bandwidth, or by_centre with a reference that records no centres.
        """
        if by_centre:
            self._absent(self.centres, True, None)  # raises if species are unknown
        return entropy_and_diversity(
            self.descriptors, self.bandwidth if h is None else h, centres=self.centres if by_centre else None
        )

    def _test_descriptors(self, test, centres) -> tuple[np.ndarray, np.ndarray | None]:
        """(descriptors, centre atomic numbers or None) of the test environments."""
        if is_atoms(test) or (isinstance(test, (list, tuple)) and test and is_atoms(test[0])):
            frames = frames_of(test)
            return self.descriptor.compute(frames), np.concatenate([atoms.numbers for atoms in frames])
        y = as_descriptors(test, "test descriptors", n_features=self.descriptor.n_features)
        return y, None if centres is None else as_centres(centres, y.shape[0], "test centres")
