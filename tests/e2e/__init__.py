"""End-to-end: sweeps run as separate driver processes on the session's two-node Ray cluster, read back through
MLflow, Optuna's storage and the results table. Marked `e2e`: `make test-fast` leaves them out."""
