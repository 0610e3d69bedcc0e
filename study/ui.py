"""`python -m study.ui`: the MLflow UI on 127.0.0.1 for a local store, and the URL of the latest sweep's runs.

Prints the runs table (model-training mode) of the most recent sweep in the store, then of each other experiment
that holds sweeps, and serves `mlflow ui --host 127.0.0.1` on them until Ctrl-C (`make ui`). The default store is
where `python -m study.sweep` writes when run from this folder: ./mlflow.db. The UI's background job workers are
off (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false, unless set): they would outlive the UI.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from study.run.shadowing import refuse_shadowed


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-ui")
    from tuning.naming import UI_PORT

    parser = argparse.ArgumentParser(prog="python -m study.ui", description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", help="a local store (default: sqlite:///$PWD/mlflow.db)")
    parser.add_argument("--port", type=int, default=UI_PORT, help=f"the UI's port on 127.0.0.1 (default {UI_PORT})")
    parser.add_argument("--print-only", action="store_true", help="print the URLs; do not start the UI")
    args = parser.parse_args(argv)
    from tuning.naming import runs_url
    from tuning.tracking import default_uri, sweeps_in

    uri = args.tracking_uri or default_uri(Path.cwd())
    if uri.startswith(("http://", "https://")):
        parser.error(f"{uri} is a tracking server: it serves its own UI")
    store = Path(uri.removeprefix("sqlite:///"))
    if uri.startswith("sqlite:///") and not store.is_file():
        print(f"no MLflow store at {store} yet: run a sweep first (make sweep)", file=sys.stderr)
        return 1
    sweeps = sweeps_in(uri)
    if not sweeps:
        print(f"no sweep in {uri} yet")
    shown: set[str] = set()
    for experiment_id, experiment, sweep in sweeps:
        if experiment_id not in shown:
            first = "the latest sweep's runs" if not shown else "runs"
            print(f"{first} ({sweep}, experiment {experiment}): {runs_url(uri, experiment_id, args.port)}")
            shown.add(experiment_id)
    if args.print_only:
        return 0
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    command = [sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1", "--port", str(args.port),
               "--backend-store-uri", uri]  # fmt: skip
    print(" ".join(command[1:]), flush=True)
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
