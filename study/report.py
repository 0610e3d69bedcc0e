"""`python -m study.report --sweep SWEEP`: a sweep's results as a Markdown report with plots, logged to MLflow.

Reads the sweep directory only (sweep.json, results.json and, for parameter importances, optuna.db): no Ray.
Writes `report.md` and its PNGs to --out (default SWEEP/report), then logs them to the sweep's MLflow parent run.
Sections appear where the sweep has the data for them: the replication of the paper's Table 2, cost and accuracy
against sequence length with fitted power laws, the truncation ablation, learning curves, the accuracy / memory
Pareto front, Optuna's parameter importances and the best configurations. Only COMPLETE trials enter fits and
tables (learning curves also draw trials stopped early); failed, stopped and unfinished ones are listed with
their reasons.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from study.run.shadowing import refuse_shadowed


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-report")
    from study.reporting.writer import REPORT_TOP_K, write_report
    from study.results.sweep_dir import find_sweep
    from study.run.config import ConfigError

    parser = argparse.ArgumentParser(prog="python -m study.report", description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", required=True, help="sweep name (under --sweeps-dir) or directory")
    parser.add_argument("--sweeps-dir", default="sweeps", type=Path)
    parser.add_argument("--out", type=Path, help="report directory (default: SWEEP/report)")
    parser.add_argument(
        "--top-k", type=int, default=REPORT_TOP_K, help=f"best configurations listed (default {REPORT_TOP_K})"
    )
    parser.add_argument(
        "--target-accuracy", type=float, metavar="A",
        help="workers study: time each run takes to reach this accuracy (default: the best accuracy every run reached)",
    )  # fmt: skip
    parser.add_argument("--no-mlflow", dest="mlflow", action="store_false", help="do not log to the parent run")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    if args.target_accuracy is not None and not 0 < args.target_accuracy <= 1:  # a fraction, as the runs report it
        parser.error(f"--target-accuracy must be an accuracy in (0, 1], got {args.target_accuracy:g}")
    try:
        sweep = find_sweep(args.sweep, args.sweeps_dir)
        files = write_report(
            sweep, args.out or sweep.path / "report", top_k=args.top_k, target_accuracy=args.target_accuracy
        )
    except (FileNotFoundError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"report: {files[0]}")
    run_id, uri = sweep.data.get("mlflow_parent_run_id"), sweep.data.get("tracking_uri")
    if args.mlflow and run_id and uri:
        from tuning.naming import REPORT_ARTIFACTS
        from tuning.tracking import TrackingError, log_paths

        try:
            log_paths(uri, run_id, files, REPORT_ARTIFACTS)
        except TrackingError as err:
            print(f"error: the report is written, but not logged to MLflow: {err}", file=sys.stderr)
            return 1
        print(f"logged to MLflow run {run_id} under {REPORT_ARTIFACTS}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
