"""Analyses over the engine (paper Sec. II.C-D): each family in a module of its own.

learning     learning curves of information: H against dataset size, asymptote fit (Eq. 9)
compression  subsets of structures that keep the most information
clusters     clusters of solid-like atoms (dH <= threshold)
selection    novel candidates for DFT
calibration  held-out dH of a training set and the calibrated threshold
model_errors dH against a model's force errors, the error map
plots        the figures, drawn on Matplotlib axes
thermodynamics  free energies from thermodynamic integration (Einstein crystal, switching,
             Gibbs-Helmholtz) and phase boundaries from G(P, T)
"""
