"""The numerical engine that every front-end calls: nothing here imports a front-end or the CLI.

descriptor    QUESTS descriptors of atomic environments (1/A; paper Eqs. 1-3)
periodic      periodic images of a cell out to the cutoff (A)
kernel        log sums of Gaussian kernels between descriptor sets
fastexp       SIMD exp(-t) for the kernel sums
information   H, dH, D, novelty, overlap and h(V) (nats; paper Eqs. 5-8, S20)
cluster_index certified approximate dH: partial kernel sums over a cluster index, with a bound
kmeans        k-means clusters of descriptor vectors (the cluster index's)
knn           approximate dH over nearest neighbors (SI Eqs. S18-S19, pynndescent)
workers       the worker threads and BLAS thread control of the compiled loops
reference     reference (training) sets; reference_queries, reference_indexes, reference_file:
              their queries, their cluster indexes, their file format
options       DhOptions: how dH is computed and what counts as novel, declared once
calibration   the calibrated threshold and the error map a reference carries
bias, gradients  bias energies of dH and their forces
species       element modes (blind, by-centre, multicomponent)
carve, frames structures cut into environments; structure files read frame by frame
deprecation   old spellings of public names, still accepted (doc/glossary.md)
archive       .npz archives with aligned arrays, memory-mapped when read (one copy per node)
files         files written whole or not at all, under the user's umask
validation    input checks: each failure a ValueError that names the problem and the fix
"""
