"""The `quests-lmp` command line (the console script is quests_lmp.cli.main:main).

main            the parser, assembled from one module per sub-command, and the entry point
options         arguments shared by the sub-commands, and their checks
reference, entropy, dh, overlap, trajectory, clusters, learning_curve, compress, plugin_path
                the sub-commands, one module each
datasets        structure files in, descriptors, references and result files out
report          tables on stdout and JSON results
plots, progress PNG figures and progress bars
"""
