"""Studies of the method: the command lines `python -m study.X` (train, sweep, export, report, reproduce, memory,
bench) on six subpackages, lowest first: `run` (one configured run), `spec` (the study language), `results` (what
a sweep directory holds), `cost` (memory and time), `reporting` (the report), `driver` (the sweep between its
command line and tuning/). README, Layout, draws the tree."""
