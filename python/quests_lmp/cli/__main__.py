"""`python -m quests_lmp.cli ...` runs the `quests-lmp` command."""

from .main import main

raise SystemExit(main())
