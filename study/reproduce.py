"""`python -m study.reproduce EXPORT [--seeds N]`: train an exported trial again and compare with the original.

EXPORT is a sweep's export directory (its rank-1 configuration, or `--trial ID`) or one exported YAML next to
its `summary.json`. The run uses the config's own seed (and the next N-1 seeds with `--seeds N`), then checks:

- the metric (the sweep's objective, or `--metric`): the reproduced mean must lie within `--tolerance` of the
  original, else within two standard deviations of the seed spread the original sweep measured (its seed re-runs),
  else of the spread measured here (`--seeds` >= 2), else within 0.01;
- the config: the YAML against the config the trial ran with;
- the data: the checksum of the prepared dataset here against the sweep's;
- the code: git commit and library versions against those recorded with the sweep (reported, not failed).

Exit 0 when the metric reproduces and config and data are the same, 1 otherwise, 2 on unusable input.
Writes OUT/reproduce.json (default EXPORT_DIR/reproduce-TRIAL).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from study.run.shadowing import refuse_shadowed


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-reproduce")
    parser = argparse.ArgumentParser(prog="python -m study.reproduce", description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="an export directory or an exported config YAML")
    parser.add_argument("--trial", help="in an export directory: this trial instead of the best")
    parser.add_argument("--seeds", type=int, default=1, help="runs: the config's seed and the next N-1 (default 1)")
    parser.add_argument("--metric", help="metric to compare (default: the sweep's objective)")
    parser.add_argument("--tolerance", type=float, help="allowed |reproduced mean - original|")
    parser.add_argument("--out", type=Path, help="run directories and reproduce.json")
    parser.add_argument("--data-dir", help="dataset cache (default: $AUXLSTM_DATA_DIR or ~/.cache/auxlstm)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.tolerance is not None and args.tolerance < 0:
        parser.error("--tolerance must be >= 0")
    from data import DatasetError, default_data_dir
    from study.results.reproduce import describe, reproduce
    from study.run.config import ConfigError

    try:
        result = reproduce(
            args.target, trial=args.trial, seeds=args.seeds, metric=args.metric, tolerance=args.tolerance,
            out=args.out, data_dir=default_data_dir(args.data_dir),
        )  # fmt: skip
    except (FileNotFoundError, ConfigError, DatasetError) as err:
        print(f"reproduce error: {err}", file=sys.stderr)
        return 2
    print("\n".join(describe(result)))
    return 0 if result["reproduced_ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
