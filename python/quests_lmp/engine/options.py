"""How dH is computed and what counts as novel, declared once: DhOptions.

Every front-end builds one: `fix quests` from its keywords and the python/invoke hook from its
variables quests_<name> (DhOptions.from_text), the ASE classes and the CLI from their arguments.
`checked()` holds every rule between the options, each failure a ValueError worded for the
front-end that asked (Dialect: LAMMPS keywords, Python arguments, the hook's variables). A new
option is one field below (its default, how it is read from text, its doc line) and, where it has
one, its rule in `checked()`; the fix's keyword, the hook's variable, the ASE keyword and the CLI
flag (where `cli` is set) follow from it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields, replace
from typing import NamedTuple

import numpy as np

from .calibration import alarm_settings, error_map_in_force
from .cluster_index import DEFAULT_CERTIFICATE, STOP_BELOW
from .knn import DEFAULT_NEIGHBORS
from .species import MODES, species_mode
from .validation import check_bandwidths

METHODS = ("exact", "approx", "knn")  # exact: Eq. 6; approx: cluster index; knn: SI Eq. S19
PRECISIONS = ("double", "single")
UNKNOWN = ("error", "novel")
YES, NO = ("yes", "on", "true"), ("no", "off", "false")


@dataclass(frozen=True)
class Dialect:
    """How a front-end's messages name its options (`name`: PYTHON, LAMMPS, HOOK): `term`
    ("keyword" in fix quests, "setting" elsewhere); `words`: choices as LAMMPS words (exact)
    rather than Python strings ('exact'); `prefix`: names of values read from text (the hook's
    variables quests_<name>); `variables`: say after a rule which of the hook's variables it
    concerns."""

    name: str
    term: str = "setting"
    words: bool = False
    prefix: str = ""
    variables: bool = False

    def __repr__(self) -> str:
        return self.name

    def choices(self, values) -> str:
        """'a', 'b' or 'c' (Python) or a, b or c (LAMMPS)."""
        shown = [value if self.words else repr(value) for value in values]
        return ", ".join(shown[:-1]) + " or " + shown[-1]

    def error(self, message: str, *names: str) -> ValueError:
        """The ValueError of a rule about options `names`."""
        if self.variables and names:
            message += f" (variables {', '.join(self.prefix + name for name in names)})"
        return ValueError(message)


PYTHON = Dialect("PYTHON")
LAMMPS = Dialect("LAMMPS", term="keyword", words=True)
HOOK = Dialect("HOOK", prefix="quests_", variables=True)


def _option(default, read: str, doc: str, choices=(), cli: bool = False):
    """A field of DhOptions: `read` how its text is read ("word", "number", "positive number",
    "integer", "yes/no"), `doc` one line for users, `choices` its allowed words, `cli`: a flag of
    the CLI's dH commands (--name)."""
    return field(default=default, metadata={"read": read, "doc": doc, "choices": tuple(choices), "cli": cli})


@dataclass(frozen=True)
class DhOptions:
    """The options of dH for a monitor (fix quests, the hook, QuestsMonitor, the CLI's dH commands).

    Build one with keywords, then `checked()`; or from text with `from_text`. None means the
    default that the reference or the method chooses. The Parameters below are written from the
    fields' doc lines (the one declaration).
    """

    bandwidth: float | None = _option(None, "positive number", "kernel bandwidth, 1/A (default: the reference's)")
    method: str = _option(
        "exact",
        "word",
        "exact (Eq. 6); approx: certified cluster index, for large references; knn: nearest neighbors "
        "(SI Eq. S19, no bound); default exact",
        METHODS,
        cli=True,
    )
    neighbors: int | None = _option(None, "integer", "knn: neighbors kept (default 128)", cli=True)
    certificate: float | None = _option(
        None, "number", "approx: largest over-estimate of dH allowed, nats (default 0.1)", cli=True
    )
    precision: str = _option(
        "double",
        "word",
        "arithmetic of exact dH: double, or single (about 1.8x faster, within 1e-4 nats)",
        PRECISIONS,
        cli=True,
    )
    threshold: float | None = _option(
        None,
        "number",
        "novel: dH > threshold (nats, default: the reference's calibrated threshold where it has one, else 0)",
        cli=True,
    )
    species: str | None = _option(
        None,
        "word",
        "blind, by-centre, multicomponent or multicomponent/by-centre (default: as the reference's descriptors)",
        MODES,
    )
    unknown: str | None = _option(
        None,
        "word",
        "atoms of elements the reference lacks: error, or novel (dH = inf); default: error by centre, not "
        "checked in the species-blind modes",
        UNKNOWN,
        cli=True,
    )
    force_error: bool = _option(
        False, "yes/no", "give each atom its expected force error (eV/A) from the reference's error map"
    )
    force_alarm: float | None = _option(
        None, "number", "novel: expected force error above this, eV/A (instead of threshold)"
    )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The options' names.

        Returns
        -------
        tuple of str, in their order of declaration.
        """
        return tuple(option.name for option in fields(cls))

    @classmethod
    def from_text(cls, values: dict[str, str], dialect: Dialect = PYTHON) -> DhOptions:
        """Options from texts, as fix quests's keywords and the hook's variables give them.

        Parameters
        ----------
        values : dict
            Option name -> its text ("0.02", "knn", "yes"); names that are not options are left out.
        dialect : Dialect
            Whose words the messages use (PYTHON, LAMMPS or HOOK).

        Returns
        -------
        DhOptions, read and checked.

        Raises
        ------
        ValueError
            A text that is not of its option's kind, or a rule of `checked` broken.
        """
        read = {
            option.name: read_value(option.metadata["read"], values[option.name], dialect.prefix + option.name, dialect)
            for option in fields(cls)
            if option.name in values
        }
        return cls(**read).checked(dialect)

    def checked(self, dialect: Dialect = PYTHON) -> DhOptions:
        """These options with every rule between them checked.

        Parameters
        ----------
        dialect : Dialect
            Whose words the messages use (PYTHON, LAMMPS or HOOK).

        Returns
        -------
        DhOptions with numbers as int and float.

        Raises
        ------
        ValueError
            An unknown method, precision, species or unknown; neighbors (an integer >= 1) without
            method knn; certificate (nats >= 0) without method approx; precision single without
            method exact; a bandwidth that is not one finite number >= 1e-100 1/A; force_alarm not
            > 0, or given with threshold.
        """
        method, neighbors, certificate, precision = self.method, self.neighbors, self.certificate, self.precision
        if method not in METHODS:
            raise dialect.error(f"method must be {dialect.choices(METHODS)}, got {method!r}", "method")
        if neighbors is not None:
            if isinstance(neighbors, bool) or not isinstance(neighbors, numbers.Integral) or neighbors < 1:
                raise dialect.error(f"neighbors must be an integer >= 1, got {neighbors!r}", "neighbors")
            if method != "knn":
                raise dialect.error(
                    f"neighbors is a {dialect.term} of method knn, not {method}; leave it out or use method knn",
                    "neighbors",
                    "method",
                )
            neighbors = int(neighbors)
        if certificate is not None:
            if not _is_number(certificate) or not certificate >= 0:
                required = ">= 0 (nats, the largest" if dialect.words else "a number of nats >= 0 (the largest"
                raise dialect.error(
                    f"certificate must be {required} over-estimate of dH allowed; 0.1 by default), got {certificate!r}",
                    "certificate",
                )
            if method != "approx":
                raise dialect.error(
                    f"certificate is a {dialect.term} of method approx, not {method}; leave it out or use method "
                    "approx",
                    "certificate",
                    "method",
                )
            certificate = float(certificate)
        if precision not in PRECISIONS:
            raise dialect.error(
                f"precision must be {dialect.choices(PRECISIONS[::-1])}, got {precision!r}", "precision"
            )
        if precision == "single" and method != "exact":
            raise dialect.error(
                f"precision single is for method exact (method {method} chooses its own arithmetic: float32 "
                "distances with a certificate for approx, float64 for knn); leave it out",
                "precision",
                "method",
            )
        bandwidth = self.bandwidth
        if bandwidth is not None:
            try:
                bandwidth = float(check_bandwidths(bandwidth)[0][0]) if np.ndim(bandwidth) == 0 else None
            except ValueError as error:
                raise dialect.error(str(error), "bandwidth") from None
            if bandwidth is None:
                raise dialect.error(f"bandwidth must be one number (1/A), got {self.bandwidth!r}", "bandwidth")
        for name, choices in (("species", MODES), ("unknown", UNKNOWN)):
            value = getattr(self, name)
            if value is not None and value not in choices:
                raise dialect.error(f"{name} must be {dialect.choices(choices)}, got {value!r}", name)
        threshold, force_alarm = self.threshold, self.force_alarm
        if threshold is not None:
            if not _is_number(threshold) or math.isnan(threshold):
                raise dialect.error(f"threshold must be a number of nats, got {threshold!r}", "threshold")
            threshold = float(threshold)
        if force_alarm is not None:
            if not _is_number(force_alarm) or not force_alarm > 0:
                raise dialect.error(
                    f"force_alarm must be > 0 (eV/A, an expected force error), got {force_alarm:g}"
                    if _is_number(force_alarm)
                    else f"force_alarm must be a number > 0 (eV/A), got {force_alarm!r}",
                    "force_alarm",
                )
            if threshold is not None:
                raise dialect.error(
                    "threshold (nats) and force_alarm (eV/A) both set the alarm: give one of them",
                    "threshold",
                    "force_alarm",
                )
            force_alarm = float(force_alarm)
        return replace(
            self,
            bandwidth=bandwidth,
            neighbors=neighbors,
            certificate=certificate,
            threshold=threshold,
            force_alarm=force_alarm,
            force_error=bool(self.force_error),
        )

    def method_keywords(self, stop_below: float = STOP_BELOW) -> dict:
        """Keyword arguments of Reference.delta_entropy for the method of checked options.

        Parameters
        ----------
        stop_below : float, nats
            Where method approx may stop summing (Reference.delta_entropy).

        Returns
        -------
        dict of method, neighbors, precision, certificate and stop_below, the method's own setting
        made explicit (neighbors of knn, certificate of approx).

        Raises
        ------
        ValueError
            Never for checked options (the rules are in `checked`).
        """
        return {
            "method": self.method,
            "neighbors": DEFAULT_NEIGHBORS if self.method == "knn" and self.neighbors is None else self.neighbors,
            "precision": self.precision,
            "certificate": DEFAULT_CERTIFICATE
            if self.method == "approx" and self.certificate is None
            else self.certificate,
            "stop_below": stop_below,
        }


DhOptions.__doc__ += (
    "\n\n    Parameters\n    ----------\n"
    + "".join(f"    {option.name} : {option.type}\n        {option.metadata['doc']}\n" for option in fields(DhOptions))
    + "\n    Raises\n    ------\n    TypeError\n        A name that is not an option (the rules between options: "
    + "`checked`).\n"
)


def read_value(kind: str, text, name: str, dialect: Dialect = PYTHON):
    """The value of `name` from its text, read as `kind` ("word", "number", "positive number",
    "integer", "yes/no"); ValueError in the words of `dialect` (LAMMPS's own for keywords). A
    value that is not text is kept as it is."""
    if not isinstance(text, str):
        return text
    if kind == "word":
        return text
    if kind == "yes/no":
        if text.lower() not in YES + NO:
            if dialect.words:
                raise ValueError(f"Expected boolean parameter instead of '{text}' for keyword {name}")
            raise ValueError(f"{name} must be yes or no, got '{text}'")
        return text.lower() in YES
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or (kind == "integer" and not value.is_integer()):
        expected = "integer" if kind == "integer" else "floating point"
        if dialect.words:
            raise ValueError(f"Expected {expected} parameter instead of '{text}' for keyword {name}")
        if value is None:
            raise ValueError(f"{name} must be a number, got '{text}'")
        raise ValueError(
            f"{name} must be {'a finite number' if not math.isfinite(value) else 'an integer'}, got {text}"
        )
    if kind == "positive number" and value <= 0:
        raise ValueError(f"{name} must be > 0 (1/A), got {text}")
    return int(value) if kind == "integer" else value


def _is_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


class Monitoring(NamedTuple):
    """What a monitor (fix quests, the hook, QuestsMonitor) needs from its options and reference:
    `keywords` of Reference.delta_entropy, the bandwidth (1/A), the alarm's threshold (nats) and
    the line saying where it came from, and the error map in force (None without force_error)."""

    keywords: dict
    bandwidth: float
    threshold: float
    alarm: str
    error_map: object


def monitoring(reference, options: DhOptions, unknown: str | None = None) -> Monitoring:
    """The settings of a monitor of checked `options` against `reference`; unknown: what
    options.unknown None means where the reference records its centres (fix quests, which knows
    each atom's element, checks them: "error"). ValueError where the options do not fit the
    reference."""
    keywords = options.method_keywords()
    unknown = options.unknown or (unknown if reference.centres is not None else None)
    keywords.update(species_options(reference, options.species, unknown))
    bandwidth = reference.bandwidth if options.bandwidth is None else options.bandwidth
    threshold, alarm = alarm_settings(
        keywords, reference.calibration, bandwidth, options.threshold, reference.error_map, options.force_alarm
    )
    error_map = (
        error_map_in_force(reference.error_map, bandwidth, keywords["by_centre"]) if options.force_error else None
    )
    return Monitoring(keywords, bandwidth, threshold, alarm, error_map)


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
