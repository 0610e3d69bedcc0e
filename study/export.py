"""`python -m study.export --sweep SWEEP --out DIR`: a finished sweep's best configs, ready to train again.

Reads only the sweep directory (its results table and sweep.json): no Ray, no tracking server. Writes one YAML
per exported trial that runs unchanged with `python -m study.train --config FILE`, and a summary (Markdown and
JSON) with metrics, MLflow run ids, checkpoint locations, the data checksum and the git commit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from study.run.shadowing import refuse_shadowed


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-export")
    from study.results.export import export
    from study.results.sweep_dir import find_sweep
    from study.run.config import ConfigError

    parser = argparse.ArgumentParser(prog="python -m study.export", description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", required=True, help="sweep name (under --sweeps-dir) or its directory")
    parser.add_argument("--sweeps-dir", default="sweeps", help="where sweeps live (default: ./sweeps)")
    parser.add_argument("--top-k", type=int, default=3, help="configs to export (default 3)")
    parser.add_argument("--metric", help="rank by this metric (default: the study's first objective)")
    parser.add_argument("--mode", choices=["max", "min"], help="default: the objective's, else inferred")
    parser.add_argument("--out", type=Path, required=True, help="directory for the YAML configs and the summary")
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    try:
        sweep = find_sweep(args.sweep, Path(args.sweeps_dir))
        summary = export(sweep, args.out, top_k=args.top_k, metric=args.metric, mode=args.mode)
    except (FileNotFoundError, ConfigError) as err:
        print(f"export error: {err}", file=sys.stderr)
        return 2
    print(f"exported {len(summary['top'])} config(s) ranked by {summary['metric']} to {args.out}/ (summary.md)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
