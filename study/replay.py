"""`python -m study.replay`: searchers and schedulers compared on a recorded grid, in simulated time.

Record once, from a finished sweep of a grid spec whose trials all ran every epoch (FIFO):
  python -m study.sweep --study replay-grid --name replay-grid --seeds 3 --top-k 39
  python -m study.replay record --sweep replay-grid --out study/replay_tables/replay-grid.parquet
(`--seeds 3 --top-k 39`: every configuration under three seeds, so that a seed phase after the search, `--race`
or a fixed top-k, can be replayed too). Then replay any searcher x scheduler against it, through the sweep's own
searcher and scheduler classes (`tuning.replay`), in seconds per sweep:
  python -m study.replay compare [--table FILE] [--methods ...] [--repeats 20] [--budget-trials 8] [--plot FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from study.run.shadowing import refuse_shadowed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from study.results.replay_table import DEFAULT_TABLE
    from tuning.replay_methods import METHODS

    parser = argparse.ArgumentParser(prog="python -m study.replay", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    record = commands.add_parser("record", help="a finished grid sweep as the replay table")
    record.add_argument("--sweep", required=True, help="sweep name (under --sweeps-dir) or its directory")
    record.add_argument("--sweeps-dir", default="sweeps")
    record.add_argument("--out", type=Path, required=True, help="the Parquet file to write")
    compare = commands.add_parser("compare", help="replay searchers and schedulers against a table")
    compare.add_argument("--table", type=Path, default=DEFAULT_TABLE, help=f"default: {DEFAULT_TABLE.name} (shipped)")
    compare.add_argument("--methods", nargs="+", choices=list(METHODS),
                         help="default: every method the table can replay (a seed phase needs its seeds recorded)")
    compare.add_argument("--repeats", type=int, default=20, help="replayed sweeps per method, seeds 0..N-1")
    compare.add_argument("--budget-trials", type=float, default=8.0,
                         help="the compute budget, in trials that run every epoch (mean over the grid)")  # fmt: skip
    compare.add_argument("--concurrency", type=int, default=2)
    compare.add_argument("--plot", type=Path, help="write the anytime curves to this PNG")
    args = parser.parse_args(argv)
    if args.command == "compare" and (args.repeats < 2 or args.budget_trials <= 0 or args.concurrency < 1):
        parser.error("--repeats must be at least 2, --budget-trials above 0 and --concurrency at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-replay")
    from study.reporting.replay import compare
    from study.results.replay_table import record_table
    from study.results.sweep_dir import find_sweep
    from study.run.config import ConfigError

    args = parse_args(argv)
    try:
        if args.command == "record":
            lines = [record_table(find_sweep(args.sweep, Path(args.sweeps_dir)), args.out)]
        else:
            lines = compare(args.table, args.methods, repeats=args.repeats, budget_trials=args.budget_trials,
                            concurrency=args.concurrency, plot=args.plot)  # fmt: skip
    except (FileNotFoundError, KeyError, ValueError, ConfigError) as err:
        print(f"replay error: {err}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
