"""Runs a command and writes its peak resident memory (GB) to PREFIX.<pid>: `python _peak.py PREFIX CMD ...`.

Used by large_datasets.py around each MPI rank (the rank is the child; this wrapper starts no MPI).
"""

import os
import resource
import subprocess
import sys

code = subprocess.call(sys.argv[2:], close_fds=False)  # the MPI launcher's PMI socket
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6  # kB -> GB
with open(f"{sys.argv[1]}.{os.getpid()}", "w") as stream:
    stream.write(f"{peak}\n")
sys.exit(code)
