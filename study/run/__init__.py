"""One configured run, Ray-free: the config tree, the one run path, its provenance, and running it here or on Ray."""
