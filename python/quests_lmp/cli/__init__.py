"""The `quests-lmp` command line (the console script is quests_lmp.cli.main:main).

main            the parser, assembled from one module per sub-command, and the entry point
options         arguments shared by the sub-commands, and their checks
reference, entropy, dh, overlap, trajectory, clusters, learning_curve, compress, plugin_path
                the sub-commands, one module each
datasets        structure files in, their descriptors and references
outputs         result files out (JSON, CSV, per-atom values, structures), whole or not at all
distributed     the work of a command split over MPI ranks
report          tables on stdout and JSON results
plots, progress the figures of --plot (PNG, PDF, SVG) and progress bars
"""
