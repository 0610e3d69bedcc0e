"""What a sweep directory holds and what is read from it without Ray: its record (`sweep_dir`), the results table
(`table`), ranking and Pareto sets (`ranking`), seed-robust selection (`seeds`), the export of the best configs
(`export`) and their reproduction (`reproduce`)."""
